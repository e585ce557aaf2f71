package wire

import (
	"fmt"
	"sync"
	"testing"
)

// TestSubjectCache: cached subjects are the layout's, across sites, group
// types and partitions, under concurrent first lookups; another layout
// starts afresh; past the cap they are still right.
func TestSubjectCache(t *testing.T) {
	var c SubjectCache
	for _, l := range []Layout{Legacy, {Gen: 2, N: 5}} {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					site, typ, p := fmt.Sprintf("site.%d", (i+w)%7), fmt.Sprintf("type %d", i%13), i%l.N
					if got, want := c.Metrics(l, site, typ, p), l.Subject(site, typ, p); got != want {
						t.Errorf("%v: Metrics(%q, %q, %d) = %q, want %q", l, site, typ, p, got, want)
						return
					}
				}
			}()
		}
		wg.Wait()
		if m := c.m.Load(); m.pairs != 7*13 || m.layout != l {
			t.Fatalf("%v: %d pairs cached for %v, want %d", l, m.pairs, m.layout, 7*13)
		}
	}
	l := Layout{Gen: 2, N: 5}
	full := *c.m.Load()
	full.pairs = maxCachedPairs
	c.m.Store(&full)
	if got := c.Metrics(l, "new", "x", 3); got != l.Subject("new", "x", 3) {
		t.Fatalf("past the cap: %q", got)
	}
	if _, ok := c.m.Load().m["new"]; ok {
		t.Fatal("cached past the cap")
	}
	if a := testing.AllocsPerRun(100, func() { c.Metrics(l, "site.1", "type 1", 4) }); a != 0 {
		t.Fatalf("a cached lookup allocates %v times", a)
	}
}
