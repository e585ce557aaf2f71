package reload

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/service"
)

// member is a set's value: a name and which config built it.
type member struct {
	name    string
	version int
}

func TestSwap(t *testing.T) {
	set := service.NewSet[member]("sink", nil)
	var mu sync.Mutex
	running := map[string]int{} // name → version running
	starts := map[string]int{}
	run := func(ctx context.Context, m member) error {
		mu.Lock()
		if _, dup := running[m.name]; dup {
			t.Errorf("%s: a second instance started before the first stopped", m.name)
		}
		running[m.name] = m.version
		starts[m.name]++
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		delete(running, m.name)
		mu.Unlock()
		return nil
	}
	for _, n := range []string{"a", "b", "c"} {
		set.Put(n, member{n, 1}, run)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- set.Run(ctx) }()
	state := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range running {
			out[k] = v
		}
		return out
	}
	waitFor := func(want map[string]int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := state()
			if len(got) == len(want) {
				same := true
				for k, v := range want {
					same = same && got[k] == v
				}
				if same {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("running %v, want %v", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(map[string]int{"a": 1, "b": 1, "c": 1})
	Swap(set, config.Changes{Removed: []string{"a"}, Changed: []string{"b", "x"}, Added: []string{"d"}},
		[]member{{"b", 2}, {"c", 2}, {"d", 2}, {"e", 2}}, func(m member) (string, bool) { return m.name, m.name != "e" }, run)
	// a stopped, b replaced, c untouched (not named in the changes, though
	// built), x without a member of this node, d started (e is not one
	// this node runs).
	waitFor(map[string]int{"b": 2, "c": 1, "d": 2})
	mu.Lock()
	if starts["c"] != 1 || starts["b"] != 2 {
		t.Errorf("starts %v: c must not restart, b once more", starts)
	}
	mu.Unlock()
	if names := set.Names(); !slices.Equal(names, []string{"b", "c", "d"}) {
		t.Errorf("members %v", names)
	}
	cancel()
	<-done
}
