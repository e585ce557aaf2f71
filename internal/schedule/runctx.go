package schedule

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// runCtx is the context of one run of a check. Its deadline is the check's
// next due time, which the timer goroutine reaches anyway: finding the run
// still in flight then, it ends the run's context (DeadlineExceeded), and
// shutdown ends every running one (Canceled). So a run costs no runtime
// timer, no registration in a parent context and no channel unless someone
// asks for Done; context.WithDeadline cost ~7µs of a light check's ~100µs.
//
// When the timer goroutine will not reach the deadline (the check was
// removed or rescheduled while running), arm gives the run a timer of its
// own. Err and Done also compare the deadline with the clock, so a run
// never sees its deadline pass unnoticed.
type runCtx struct {
	values   context.Context // Run's ctx without its cancellation (Value)
	deadline int64           // Unix ns: the check's next due time
	mono     time.Time       // the deadline on the monotonic clock (see begin; written under mu)

	state atomic.Uint32 // live, or why it ended (ctxDeadline, ctxCanceled)

	mu     sync.Mutex
	done   chan struct{} // made by the first Done
	fns    []afterFunc   // AfterFunc callbacks not yet run or stopped
	nextID uint64
	timer  *time.Timer // armed fallback for the deadline
}

const (
	ctxLive uint32 = iota
	ctxDeadline
	ctxCanceled
)

type afterFunc struct {
	id uint64
	f  func()
}

// closedChan is Done's answer for a context that ended before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// newRunCtx returns a run's context, begun at now.
func newRunCtx(values context.Context, deadline int64, now time.Time) *runCtx {
	c := &runCtx{values: values, deadline: deadline}
	c.begin(now)
	return c
}

// begin places the deadline on the monotonic clock of now, a reading at
// the run's start, so that checking it reads the clock once (time.Until),
// not twice (time.Now); like a runtime timer, it is then not moved by a
// wall clock step during the run.
func (c *runCtx) begin(now time.Time) {
	c.mu.Lock() // arm may read it meanwhile
	c.mono = now.Add(time.Duration(c.deadline - now.UnixNano()))
	c.mu.Unlock()
}

func (c *runCtx) pastDeadline() bool { return time.Until(c.mono) <= 0 }

func (c *runCtx) Deadline() (time.Time, bool) { return time.Unix(0, c.deadline), true }

func (c *runCtx) Value(key any) any { return c.values.Value(key) }

func (c *runCtx) Err() error {
	switch c.state.Load() {
	case ctxDeadline:
		return context.DeadlineExceeded
	case ctxCanceled:
		return context.Canceled
	}
	if c.pastDeadline() {
		c.end(ctxDeadline)
		return c.Err()
	}
	return nil
}

func (c *runCtx) Done() <-chan struct{} {
	if c.state.Load() == ctxLive && c.pastDeadline() {
		c.end(ctxDeadline)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.state.Load() != ctxLive {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// AfterFunc is the method context.AfterFunc and the context package's
// children (WithCancel, WithTimeout of a run's ctx) use to learn when the
// run ends. f is called by whoever ends the run and must not block: the
// context package's callbacks don't (context.AfterFunc's f runs in a
// goroutine of its own).
func (c *runCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.state.Load() != ctxLive {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.nextID++
	id := c.nextID
	c.fns = append(c.fns, afterFunc{id: id, f: f})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := range c.fns {
			if c.fns[i].id == id {
				c.fns = append(c.fns[:i], c.fns[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *runCtx) String() string {
	return "schedule.runCtx(deadline " + time.Unix(0, c.deadline).String() + ")"
}

// end ends the run's context for why (ctxDeadline or ctxCanceled); only
// the first call counts.
func (c *runCtx) end(why uint32) {
	c.mu.Lock()
	if !c.state.CompareAndSwap(ctxLive, why) {
		c.mu.Unlock()
		return
	}
	if c.done != nil {
		close(c.done)
	}
	fns := c.fns
	c.fns = nil
	t := c.timer
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	for _, a := range fns {
		a.f()
	}
}

// arm gives the run a timer of its own for its deadline, for when the
// timer goroutine will not reach it: on the monotonic clock once the run
// has begun (a wall clock stepped back does not delay it).
func (c *runCtx) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil || c.state.Load() != ctxLive {
		return
	}
	d := time.Until(time.Unix(0, c.deadline))
	if !c.mono.IsZero() {
		d = time.Until(c.mono)
	}
	c.timer = time.AfterFunc(d, func() { c.end(ctxDeadline) })
}
