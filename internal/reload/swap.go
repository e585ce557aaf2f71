package reload

import (
	"context"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/service"
)

// Swap applies a reload's changes of one kind (c) to its running set:
// a removed member stops (service.Set.Remove waits for it: a sink's
// consumer writes and acks the batch in hand first); a changed one is
// replaced, the old stopping before the new starts (two would share the
// sink's durable consumer, its file or its connection); an added one
// starts. built are the new config's members, named by name (ok false:
// not one this node runs, for its roles); a changed or added name none of
// them has is removed. Members not named in c run on untouched.
func Swap[T any](set *service.Set[T], c config.Changes, built []T, name func(T) (string, bool), run func(context.Context, T) error) {
	byName := map[string]T{}
	for _, v := range built {
		if n, ok := name(v); ok {
			byName[n] = v
		}
	}
	for _, name := range c.Removed {
		set.Remove(name)
	}
	for _, names := range [][]string{c.Changed, c.Added} {
		for _, name := range names {
			if v, ok := byName[name]; ok {
				set.Put(name, v, run)
			} else {
				set.Remove(name)
			}
		}
	}
}
