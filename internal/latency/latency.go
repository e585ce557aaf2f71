// Package latency is a fixed-bucket histogram of durations for quantiles
// measured on hot paths (schedule lateness, poll→sink latency).
package latency

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a fixed-bucket log-linear histogram of durations in
// nanoseconds: 16 linear sub-buckets per power of two, so a quantile is
// within ~3% of the true value. Observing is one atomic add; it never
// allocates and needs no lock.
type Hist struct {
	buckets [histBuckets]atomic.Uint64
}

const (
	histSubBits = 4
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // >= histSubBits
	mant := (v >> (exp - histSubBits)) & (histSub - 1)
	return (exp-histSubBits+1)<<histSubBits | int(mant)
}

// histMid is the middle of bucket i's value range.
func histMid(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp := i>>histSubBits + histSubBits - 1
	mant := uint64(i & (histSub - 1))
	width := uint64(1) << (exp - histSubBits)
	return (histSub+mant)<<(exp-histSubBits) + width/2
}

func (h *Hist) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[histIndex(uint64(d))].Add(1)
}

// quantiles returns the values at each rank q (0..1, ascending); zero when
// nothing was observed.
func (h *Hist) Quantiles(qs ...float64) []time.Duration {
	var counts [histBuckets]uint64
	var total uint64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	out := make([]time.Duration, len(qs))
	if total == 0 {
		return out
	}
	var seen uint64
	qi := 0
	for i := 0; i < histBuckets && qi < len(qs); i++ {
		seen += counts[i]
		for qi < len(qs) && float64(seen) >= qs[qi]*float64(total) && counts[i] > 0 {
			out[qi] = time.Duration(histMid(i))
			qi++
		}
	}
	return out
}

func (h *Hist) Count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}
