package snmp

import (
	"context"
	"sync/atomic"
)

// DefaultWalkLimit bounds the varbinds that the walks under one ctx (a
// check, see WalkLimit) return together, and those of a walk whose ctx
// carries no limit. A walk that would pass it stops with ErrWalkLimit and
// returns nothing, so that a table of hundreds of thousands of rows, or an
// agent whose table never ends, costs a bounded amount of memory: a
// varbind held in a walk's result costs about 130 bytes (its Varbind, its
// name and value in the decoder's arenas, the result's spare capacity;
// TestWalkLimitBoundsMemory measures it), so a check holds at most about
// 130 MB of walked varbinds. A million varbinds is every column of the
// interface tables of a device with some 20,000 interfaces.
const DefaultWalkLimit = 1_000_000

// WalkLimit is a limit on the varbinds that the walks under a ctx return
// together; a walk that would pass it fails with ErrWalkLimit. It is a
// context.Context itself (its parent's, with the limit as a value), so it
// can live inside a longer-lived struct, such as a check's state, and cost
// no allocation.
type WalkLimit struct {
	context.Context
	limit int64
	left  atomic.Int64
}

type walkLimitKey struct{}

// Reset makes l its parent's child with a limit of n varbinds (n <= 0:
// DefaultWalkLimit) and returns it as the ctx to walk under.
func (l *WalkLimit) Reset(parent context.Context, n int) context.Context {
	if n <= 0 {
		n = DefaultWalkLimit
	}
	l.Context, l.limit = parent, int64(n)
	l.left.Store(int64(n))
	return l
}

// Value gives l to walks, and the parent's values otherwise.
func (l *WalkLimit) Value(key any) any {
	if key == (walkLimitKey{}) {
		return l
	}
	return l.Context.Value(key)
}

// WithWalkLimit is Reset on a new WalkLimit.
func WithWalkLimit(ctx context.Context, n int) context.Context {
	return new(WalkLimit).Reset(ctx, n)
}

// walkLimitOf is ctx's limit, or a fresh DefaultWalkLimit for one walk.
func walkLimitOf(ctx context.Context) *WalkLimit {
	if l, ok := ctx.Value(walkLimitKey{}).(*WalkLimit); ok {
		return l
	}
	l := &WalkLimit{limit: DefaultWalkLimit}
	l.left.Store(DefaultWalkLimit)
	return l
}

// take counts n more varbinds; false when that passes the limit.
func (l *WalkLimit) take(n int) bool { return l.left.Add(-int64(n)) >= 0 }
