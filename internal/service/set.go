package service

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
)

// Set runs a changing set of components of one kind (a node's sinks, its
// apps), each keyed by its name, so that a config reload can replace some
// while the others keep running. Its Run is a Service's Run: it starts the
// members put before it, runs until its ctx ends, then stops them all.
// A member's failure is logged; it ends that member only.
type Set[T any] struct {
	kind string
	log  *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // Run's; nil before Run and after it stopped
	members map[string]*member[T]
}

type member[T any] struct {
	v      T
	run    func(context.Context, T) error
	cancel context.CancelFunc // nil when not running
	done   chan struct{}
}

// NewSet returns an empty set of components of kind (named in logs).
func NewSet[T any](kind string, log *slog.Logger) *Set[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Set[T]{kind: kind, log: log, members: map[string]*member[T]{}}
}

// Put makes v, run by run(ctx, v), the member called name. A member of
// that name already running is stopped first (Put waits for it). While the
// set runs, the new one starts at once; before, it starts with Run.
func (s *Set[T]) Put(name string, v T, run func(context.Context, T) error) {
	for { // until no other Put of name came in between
		s.Remove(name)
		s.mu.Lock()
		if _, ok := s.members[name]; !ok {
			break
		}
		s.mu.Unlock()
	}
	defer s.mu.Unlock()
	m := &member[T]{v: v, run: run}
	s.members[name] = m
	if s.ctx != nil {
		s.startLocked(name, m)
	}
}

// Remove stops the member called name (waiting for it) and drops it; it
// reports whether there was one.
func (s *Set[T]) Remove(name string) bool {
	s.mu.Lock()
	m, ok := s.members[name]
	delete(s.members, name)
	s.mu.Unlock()
	if ok {
		m.stop()
	}
	return ok
}

// Names lists the members, sorted.
func (s *Set[T]) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.members))
}

// All returns the members' values in the order of their names.
func (s *Set[T]) All() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(s.members))
	for _, name := range slices.Sorted(maps.Keys(s.members)) {
		out = append(out, s.members[name].v)
	}
	return out
}

// Run starts the members and returns when ctx ended and every member has
// stopped. It returns nil: a member's failure is logged and ends it only.
func (s *Set[T]) Run(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	for name, m := range s.members {
		s.startLocked(name, m)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.ctx = nil
	all := slices.Collect(maps.Values(s.members))
	s.mu.Unlock()
	for _, m := range all {
		if m.cancel != nil {
			m.cancel()
		}
	}
	for _, m := range all {
		m.stop()
	}
	return nil
}

func (s *Set[T]) startLocked(name string, m *member[T]) {
	ctx, cancel := context.WithCancel(s.ctx)
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		if err := m.run(ctx, m.v); err != nil && ctx.Err() == nil {
			s.log.Error(s.kind+" stopped", s.kind, name, "err", err)
		}
	}()
}

// stop cancels the member and waits for it (nothing when it never ran).
func (m *member[T]) stop() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
}
