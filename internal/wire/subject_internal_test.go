package wire

import (
	"fmt"
	"sync"
	"testing"
)

// TestSubjectCache: cached subjects are MetricsSubject's, across sites and group
// types, under concurrent first lookups; past the cap they are still right.
func TestSubjectCache(t *testing.T) {
	var c SubjectCache
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				site, typ := fmt.Sprintf("site.%d", (i+w)%7), fmt.Sprintf("type %d", i%13)
				if got, want := c.Metrics(site, typ), MetricsSubject(site, typ); got != want {
					t.Errorf("Metrics(%q, %q) = %q, want %q", site, typ, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.n != 7*13 {
		t.Fatalf("%d subjects cached, want %d", c.n, 7*13)
	}
	c.n = maxCachedSubjects // full: still right, not cached
	if got := c.Metrics("new", "x"); got != MetricsSubject("new", "x") {
		t.Fatalf("past the cap: %q", got)
	}
	if _, ok := (*c.m.Load())["new"]; ok {
		t.Fatal("cached past the cap")
	}
	if a := testing.AllocsPerRun(100, func() { c.Metrics("site.1", "type 1") }); a != 0 {
		t.Fatalf("a cached lookup allocates %v times", a)
	}
}
