package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// journal records what the services did, in order.
type journal struct {
	mu  sync.Mutex
	got []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.got = append(j.got, s)
	j.mu.Unlock()
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.got)
}

// full is a service with all three functions, journaled.
func full(j *journal, name string) Service {
	return Service{
		Name:  name,
		Start: func(context.Context) error { j.add("start " + name); return nil },
		Run: func(ctx context.Context) error {
			<-ctx.Done()
			j.add("run ended " + name)
			return nil
		},
		Stop: func(context.Context) error { j.add("stop " + name); return nil },
	}
}

// Services start in the order added and stop in the reverse order, each
// completely (Run returned, then Stop) before the one added before it; a
// stop step between two components runs between them.
func TestOrder(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	g.Add(full(j, "bus"), Service{Name: "drain", Stop: func(context.Context) error { j.add("drain"); return nil }}, full(j, "poller"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for len(j.list()) < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"start bus", "start poller", "run ended poller", "stop poller", "drain", "run ended bus", "stop bus"}
	if got := j.list(); !slices.Equal(got, want) {
		t.Errorf("journal\n got %v\nwant %v", got, want)
	}
	if got := g.Names(); !slices.Equal(got, []string{"bus", "drain", "poller"}) {
		t.Errorf("Names = %v", got)
	}
}

// A Run's ctx ends at its service's turn to stop, not with the group's: a
// component works while those started after it stop.
func TestRunOutlivesGroupContext(t *testing.T) {
	var sinkRunning atomic.Bool
	var sawSink bool
	g := NewGroup(nil)
	started := make(chan struct{})
	g.Add(Service{Name: "sink", Run: func(ctx context.Context) error {
		sinkRunning.Store(true)
		close(started)
		<-ctx.Done()
		sinkRunning.Store(false)
		return nil
	}}, Service{Name: "poller", Stop: func(context.Context) error {
		sawSink = sinkRunning.Load()
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !sawSink {
		t.Error("the sink's Run had ended before the poller (started after it) stopped")
	}
	if sinkRunning.Load() {
		t.Error("the sink still runs after Run returned")
	}
}

// A failed Start stops what started before it, in reverse order, starts
// nothing after it, and is returned naming the service.
func TestStartFailure(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	g.Add(full(j, "bus"), full(j, "inventory"),
		Service{Name: "http", Start: func(context.Context) error { return errors.New("port busy") }},
		full(j, "poller"))
	err := g.Run(context.Background())
	if err == nil || err.Error() != "start http: port busy" {
		t.Errorf("err = %v, want start http: port busy", err)
	}
	want := []string{"start bus", "start inventory", "run ended inventory", "stop inventory", "run ended bus", "stop bus"}
	if got := j.list(); !slices.Equal(got, want) {
		t.Errorf("journal\n got %v\nwant %v", got, want)
	}
}

// A Run that fails stops the whole group; its error is returned naming it.
// A Run that returns nil early just ends.
func TestRunFailure(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	fail := make(chan struct{})
	g.Add(full(j, "bus"),
		Service{Name: "once", Run: func(context.Context) error { return nil }},
		Service{Name: "watch", Run: func(ctx context.Context) error {
			select {
			case <-fail:
				return errors.New("watch lost")
			case <-ctx.Done():
				return nil
			}
		}},
		full(j, "poller"))
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	for len(j.list()) < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // "once" returned nil: nothing stops
	select {
	case err := <-done:
		t.Fatalf("the group ended when a Run returned nil: %v", err)
	default:
	}
	close(fail)
	select {
	case err := <-done:
		if err == nil || err.Error() != "watch: watch lost" {
			t.Errorf("err = %v, want watch: watch lost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a failed Run did not stop the group")
	}
	if got := j.list(); !slices.Equal(got, []string{"start bus", "start poller", "run ended poller", "stop poller", "run ended bus", "stop bus"}) {
		t.Errorf("journal %v", got)
	}
}

// A Start waiting when the group's ctx ends returns, and nothing runs.
func TestStopWhileStarting(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(full(j, "bus"), Service{Name: "cluster", Start: func(ctx context.Context) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}, full(j, "poller"))
	err := g.Run(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "start cluster:") {
		t.Errorf("err = %v", err)
	}
	if got := j.list(); !slices.Equal(got, []string{"start bus", "run ended bus", "stop bus"}) {
		t.Errorf("journal %v", got)
	}
}

func TestEach(t *testing.T) {
	var n atomic.Int32
	err := Each(context.Background(), []int{1, 2, 3}, func(_ context.Context, i int) error {
		n.Add(int32(i))
		if i == 2 {
			return errors.New("two")
		}
		return nil
	})
	if n.Load() != 6 || err == nil || err.Error() != "two" {
		t.Errorf("sum %d err %v", n.Load(), err)
	}
}

// While runs run while on() holds, re-asked at every nudge, and stops it
// (cancelled and waited for) when it no longer does or ctx ends.
func TestWhile(t *testing.T) {
	var leader atomic.Bool
	var runs, running atomic.Int32
	nudges := make(chan struct{})
	var turns []bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		While(ctx, leader.Load, nudges, func(ctx context.Context) {
			runs.Add(1)
			running.Add(1)
			<-ctx.Done()
			running.Add(-1)
		}, func(on bool) { turns = append(turns, on) })
	}()
	nudges <- struct{}{} // not leader: nothing runs
	leader.Store(true)
	nudges <- struct{}{}
	nudges <- struct{}{} // still leader: the same run goes on
	for running.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	leader.Store(false)
	nudges <- struct{}{}
	nudges <- struct{}{} // While handled the previous nudge: run was stopped
	if running.Load() != 0 {
		t.Error("run still running after leadership was lost")
	}
	leader.Store(true)
	nudges <- struct{}{}
	cancel()
	<-done
	if running.Load() != 0 || runs.Load() != 2 {
		t.Errorf("running %d after ctx ended, %d runs; want 0 and 2", running.Load(), runs.Load())
	}
	if !slices.Equal(turns, []bool{true, false, true}) {
		t.Errorf("turns %v", turns)
	}
}

// The group is ready once every service started, and not ready any more
// before the first service stops; Started stays true while they stop. A
// group whose start failed was never ready.
func TestReady(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	g.OnReady = func(ready bool) { j.add(fmt.Sprint("ready ", ready, " ", g.Started())) }
	g.Add(full(j, "bus"), full(j, "poller"))
	if g.Ready() || g.Started() {
		t.Error("ready before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for !g.Ready() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"start bus", "start poller", "ready true true", "ready false true", "run ended poller", "stop poller", "run ended bus", "stop bus"}
	if got := j.list(); !slices.Equal(got, want) {
		t.Errorf("journal\n got %v\nwant %v", got, want)
	}
	if g.Ready() || !g.Started() {
		t.Errorf("after Run: ready %v started %v; want false, true", g.Ready(), g.Started())
	}

	bad := NewGroup(nil)
	bad.OnReady = func(bool) { t.Error("OnReady called for a group that did not start") }
	bad.Add(Service{Name: "http", Start: func(context.Context) error { return errors.New("port busy") }})
	if err := bad.Run(context.Background()); err == nil || bad.Started() {
		t.Errorf("failed start: err %v, started %v", err, bad.Started())
	}
}

// An Early service's Run ends when the stop begins, before the services
// added after it stop; its turn waits for it.
func TestEarly(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	early := full(j, "refresh")
	early.Early = true
	g.Add(full(j, "bus"), early, Service{Name: "handover", Stop: func(context.Context) error {
		time.Sleep(20 * time.Millisecond) // the early Run ends meanwhile
		j.add("handover")
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for !g.Ready() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"start bus", "start refresh", "run ended refresh", "handover", "stop refresh", "run ended bus", "stop bus"}
	if got := j.list(); !slices.Equal(got, want) {
		t.Errorf("journal\n got %v\nwant %v", got, want)
	}
}

// Work under WhileReady is refused before the group is ready and once its
// stop began, and the stop waits for work in hand before stopping anything.
func TestWhileReady(t *testing.T) {
	j := &journal{}
	g := NewGroup(nil)
	g.Add(full(j, "sinks"))
	if err := g.WhileReady(func() error { return nil }); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before Run: %v, want ErrNotReady", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for !g.Ready() {
		time.Sleep(time.Millisecond)
	}
	inWork, release := make(chan struct{}), make(chan struct{})
	workDone := make(chan error, 1)
	go func() {
		workDone <- g.WhileReady(func() error {
			close(inWork)
			<-release
			j.add("reload done")
			return nil
		})
	}()
	<-inWork
	cancel() // the stop begins while the work runs
	for g.Ready() {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the group stopped while work was in hand")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-workDone; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"start sinks", "reload done", "run ended sinks", "stop sinks"}
	if got := j.list(); !slices.Equal(got, want) {
		t.Errorf("journal\n got %v\nwant %v", got, want)
	}
	if err := g.WhileReady(func() error { t.Error("work ran after the stop"); return nil }); !errors.Is(err, ErrNotReady) {
		t.Errorf("after the stop: %v, want ErrNotReady", err)
	}
}
