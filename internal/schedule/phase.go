package schedule

import "time"

// FNV-1a 64 constants (hash/fnv), inlined so hashing a key allocates nothing.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func keyHash(key string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime64
	}
	return h
}

// Phase is a check's stable offset within its interval: FNV-1a 64 of the key
// mod the interval. It is the same on every node and after restarts, so a
// fleet's checks spread evenly over the interval instead of all firing at :00.
// The check is due at every t where (t.UnixNano() - phase) mod interval == 0.
func Phase(key string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(keyHash(key) % uint64(interval))
}

// nextDue is the first due time at or after now (all in Unix nanoseconds) of
// a check with this phase and interval: due times are aligned to the wall
// clock, not to process start.
func nextDue(now, phase, interval int64) int64 {
	r := (now - phase) % interval
	if r < 0 {
		r += interval
	}
	if r == 0 {
		return now
	}
	return now - r + interval
}
