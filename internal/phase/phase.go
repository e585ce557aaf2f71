// Package phase gives a check its stable offset within its interval, the
// same on every node and after every restart, so a fleet's checks spread
// evenly over the interval instead of all firing at :00. It is a leaf: the
// scheduler and the enrichment refresher both use it.
package phase

import "time"

// FNV-1a 64 constants (hash/fnv), inlined so hashing a key allocates nothing.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Hash is FNV-1a 64 of key. Callers that place one key in several intervals
// keep it and use FromHash.
func Hash(key string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime64
	}
	return h
}

// Of is key's phase in interval: Hash(key) mod interval, 0 for an interval
// of 0 or less. A check is due at every t where
// (t.UnixNano() - phase) mod interval == 0.
func Of(key string, interval time.Duration) time.Duration {
	return FromHash(Hash(key), interval)
}

// FromHash is the phase of a key whose Hash is h.
func FromHash(h uint64, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	return time.Duration(h % uint64(interval))
}
