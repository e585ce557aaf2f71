package bus

import "time"

// SetLayoutTiming shortens how often buses re-read the metrics streams and
// how old a new generation is before the older ones are retired, for the
// test; the returned function restores them.
func SetLayoutTiming(tick, retire time.Duration) (restore func()) {
	oldTick, oldRetire := layoutTick, retireAfter
	layoutTick, retireAfter = tick, retire
	return func() { layoutTick, retireAfter = oldTick, oldRetire }
}
