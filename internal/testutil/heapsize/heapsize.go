// Package heapsize measures what a test's structures keep on the heap:
// the in-process "bytes a device" benchmarks that size per-device state
// without the harness.
package heapsize

import "runtime"

// Live is the heap's live bytes after two GCs (the second finishes what
// the first's sweep left).
func Live() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// PerItem builds n items with build(i), keeps them all, and returns the
// live heap they add, per item (what a benchmark reports as heap-B/device).
func PerItem[T any](n int, build func(i int) T) float64 {
	held := make([]T, n)
	before := Live()
	for i := range held {
		held[i] = build(i)
	}
	after := Live()
	runtime.KeepAlive(held)
	return float64(int64(after)-int64(before)) / float64(n)
}
