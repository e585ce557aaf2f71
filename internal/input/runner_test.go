package input

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// fakeInput counts the streams running per resource; a resource whose ID
// is "bad" cannot be opened.
type fakeInput struct {
	mu      sync.Mutex
	running map[string]int
	opened  atomic.Int64
}

func (f *fakeInput) Open(res *resource.Resource) (Stream, error) {
	if res.ID == "bad" {
		return nil, errors.New("no gnmi_port")
	}
	f.opened.Add(1)
	return &fakeStream{f: f, id: res.ID}, nil
}

func (f *fakeInput) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[id]
}

type fakeStream struct {
	f  *fakeInput
	id string
}

func (s *fakeStream) Run(ctx context.Context, emit func(*metric.GroupSet)) error {
	s.f.mu.Lock()
	s.f.running[s.id]++
	s.f.mu.Unlock()
	defer func() {
		s.f.mu.Lock()
		s.f.running[s.id]--
		s.f.mu.Unlock()
	}()
	emit(&metric.GroupSet{Groups: []*metric.Group{{Type: "x"}}})
	<-ctx.Done()
	return nil
}

// Update starts what is wanted and stops (and waits for) what is not; a
// changed resource restarts its stream; one that cannot be opened is
// status 5; Stop ends all.
func TestRunner(t *testing.T) {
	f := &fakeInput{running: map[string]int{}}
	inst := &Instance{Name: "in", Interval: time.Second, Input: f}
	var mu sync.Mutex
	emitted := map[string]int{} // group type → count
	var statusOf int64 = -1
	r := NewRunner(func(i *Instance, set *metric.GroupSet) {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range set.Groups {
			emitted[g.Type]++
			if g.Type == StatusGroupType {
				statusOf = g.Metrics[0].Value.Int64()
			}
		}
	}, nil)
	a := &resource.Resource{ID: "a", Site: "s", Endpoint: "10.0.0.1"}
	b := &resource.Resource{ID: "b", Site: "s", Endpoint: "10.0.0.2"}
	bad := &resource.Resource{ID: "bad", Site: "s"}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 5 s", what)
			}
		}
	}
	r.Update([]Want{{inst, a}, {inst, b}, {inst, bad}})
	eventually("a and b streaming", func() bool { return f.count("a") == 1 && f.count("b") == 1 })
	eventually("bad's status 5", func() bool { mu.Lock(); defer mu.Unlock(); return statusOf == StatusInternal })
	if r.Len() != 3 {
		t.Errorf("Len = %d, want 3", r.Len())
	}

	a2 := &resource.Resource{ID: "a", Site: "s", Endpoint: "10.0.0.9"} // moved to another address
	r.Update([]Want{{inst, a2}})
	if f.count("b") != 0 { // Update waits for the streams it stops
		t.Errorf("b still streams after Update without it")
	}
	eventually("a restarted", func() bool { return f.count("a") == 1 && f.opened.Load() == 3 })
	r.Update([]Want{{inst, a2}}) // the same: nothing restarts
	time.Sleep(20 * time.Millisecond)
	if f.opened.Load() != 3 || f.count("a") != 1 {
		t.Errorf("an unchanged Update reopened: opened %d, a running %d", f.opened.Load(), f.count("a"))
	}
	r.Stop()
	if f.count("a") != 0 || r.Len() != 0 {
		t.Errorf("after Stop: a running %d, Len %d", f.count("a"), r.Len())
	}
	r.Update([]Want{{inst, b}})
	if r.Len() != 0 {
		t.Errorf("Update after Stop started %d streams", r.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	if emitted["x"] < 3 {
		t.Errorf("emitted %d groups of the streams, want at least 3", emitted["x"])
	}
}

// Wanted: one stream per owned resource of the site and instance whose
// filter matches it.
func TestWanted(t *testing.T) {
	f, err := resource.ParseFilter("resource_class = 'network'")
	if err != nil {
		t.Fatal(err)
	}
	net := &Instance{Name: "net", Filter: f}
	all := &Instance{Name: "all"}
	sw := &resource.Resource{Site: "lab", Class: "network", ID: "sw"}
	srv := &resource.Resource{Site: "lab", Class: "server", ID: "srv"}
	other := &resource.Resource{Site: "lab", Class: "network", ID: "other"}
	remote := &resource.Resource{Site: "far", Class: "network", ID: "remote"}
	owned := map[string]bool{sw.Key(): true, srv.Key(): true, remote.Key(): true}
	var got []string
	for _, w := range Wanted([]*Instance{net, all}, "lab", []*resource.Resource{sw, srv, other, remote}, owned) {
		got = append(got, w.key())
	}
	want := []string{"net|" + sw.Key(), "all|" + sw.Key(), "all|" + srv.Key()}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("wanted %v, want %v", got, want)
	}
	if Wanted(nil, "lab", []*resource.Resource{sw}, owned) != nil {
		t.Error("no instances: nothing wanted")
	}
}
