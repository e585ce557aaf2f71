package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runner journals its member's start and end.
func runner(j *journal) func(context.Context, string) error {
	return func(ctx context.Context, v string) error {
		j.add("run " + v)
		<-ctx.Done()
		j.add("end " + v)
		return nil
	}
}

// A Set starts the members put before Run with Run; while it runs, Put
// starts a new member at once and replaces one of the same name (the old
// stopped first), Remove stops one, and the others keep running; at the
// end of Run every member has stopped.
func TestSet(t *testing.T) {
	j := &journal{}
	s := NewSet[string]("sink", nil)
	s.Put("a", "a1", runner(j))
	s.Put("b", "b1", runner(j))
	if len(j.list()) != 0 {
		t.Fatalf("members ran before Run: %v", j.list())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); len(j.list()) < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("journal %v, want %d entries", j.list(), n)
			}
		}
	}
	waitFor(2)
	s.Put("a", "a2", runner(j)) // replaces a1: it ends before a2 runs
	waitFor(4)
	if got := j.list()[2:4]; !slices.Equal(got, []string{"end a1", "run a2"}) {
		t.Errorf("replacing a: %v", got)
	}
	if !s.Remove("b") || s.Remove("b") {
		t.Error("Remove must report whether the member was there")
	}
	if got := j.list(); got[len(got)-1] != "end b1" {
		t.Errorf("Remove returned before b ended: %v", got)
	}
	s.Put("c", "c1", runner(j))
	waitFor(6)
	if !slices.Equal(s.Names(), []string{"a", "c"}) || !slices.Equal(s.All(), []string{"a2", "c1"}) {
		t.Errorf("names %v values %v", s.Names(), s.All())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := j.list()
	if len(got) != 8 || !slices.Contains(got[6:], "end a2") || !slices.Contains(got[6:], "end c1") {
		t.Errorf("after Run: %v", got)
	}
}

// A member that fails ends alone: the set and the others go on.
func TestSetMemberFails(t *testing.T) {
	j := &journal{}
	s := NewSet[string]("app", nil)
	s.Put("bad", "bad", func(context.Context, string) error { j.add("failed"); return errors.New("boom") })
	s.Put("good", "good", runner(j))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for len(j.list()) < 2 {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v after a member failed", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := j.list(); got[len(got)-1] != "end good" {
		t.Errorf("journal %v", got)
	}
}

// Puts of one name at the same time leave one member running: none of
// the replaced ones runs on unseen (stopped by nothing, not even Run's end).
func TestSetConcurrentPuts(t *testing.T) {
	s := NewSet[int]("sink", nil)
	var running atomic.Int32
	run := func(ctx context.Context, _ int) error {
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { s.Put("a", i, run) })
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); running.Load() != 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := running.Load(); n != 1 {
		t.Errorf("%d members running after 50 Puts of one name, want 1", n)
	}
	cancel()
	<-done
	if n := running.Load(); n != 0 {
		t.Errorf("%d members still running after Run returned", n)
	}
}
