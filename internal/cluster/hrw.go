package cluster

import (
	"math"
	"slices"
)

// Rendezvous (highest random weight) hashing: every node scores every key and
// the highest score owns it. Any two nodes with the same member list agree
// without talking; removing a member moves only its keys, adding one takes
// about 1/N of the keys from the others and moves none between them.

// Owner returns the ID of the member that owns key: the rendezvous winner
// among members (already filtered to the live pollers of the key's site),
// weighted by capacity. It returns "" when members is empty.
func Owner(members []Member, key string) string {
	best, bestScore := "", math.Inf(-1)
	for i := range members {
		m := &members[i]
		s := score(m.ID, m.Capacity, key)
		if s > bestScore || (s == bestScore && m.ID < best) {
			best, bestScore = m.ID, s
		}
	}
	return best
}

// Assign maps each key to its owner among members.
func Assign(members []Member, keys []string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = Owner(members, k)
	}
	return out
}

// score is the weighted rendezvous score -capacity/ln(u), u uniform in
// (0,1) from hash(node, key): a member with twice the capacity wins twice as
// many keys. With equal capacities the order is that of the hashes.
func score(node string, capacity int, key string) float64 {
	if capacity < 1 {
		capacity = 1
	}
	h := pairHash(node, key)
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -float64(capacity) / math.Log(u)
}

// pairHash is FNV-1a over node, a separator and key, finished with a
// splitmix64 mix so that similar node IDs ("poller-1", "poller-2") give
// independent scores. It must never change: every node of every version
// has to compute the same owners.
func pairHash(node, key string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(node); i++ {
		h = (h ^ uint64(node[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// sortedIDs returns the members' IDs in order, for logs and comparisons.
func sortedIDs(members []Member) []string {
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}
