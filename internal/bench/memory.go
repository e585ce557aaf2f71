package bench

import (
	"fmt"
	"os"
	"runtime/metrics"
	"strings"
)

// Memory is the collector process's memory at the end of the window, by
// kind, so that RSS can be accounted for beyond the Go heap's live bytes
// (runtime/metrics' /memory/classes, and the kernel's split of VmRSS).
type Memory struct {
	// The kernel's view (/proc/self/status): anonymous pages (Go heap,
	// stacks, runtime metadata, cgo) and file-backed ones (the binary's
	// text and data as far as they were touched).
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	RSSFileBytes int64 `json:"rss_file_bytes"`

	// /memory/classes/heap/objects: live and not yet swept dead objects.
	HeapObjectsBytes uint64 `json:"heap_objects_bytes"`
	// /gc/heap/live: the marked bytes after the last GC.
	HeapLiveBytes uint64 `json:"heap_live_bytes"`
	// /gc/heap/goal: the heap size the next GC aims at (live × (1+GOGC/100)).
	HeapGoalBytes uint64 `json:"heap_goal_bytes"`
	// Free heap spans still backed by memory (the scavenger returns them
	// over time), and free space inside spans in use (fragmentation).
	HeapFreeBytes     uint64 `json:"heap_free_bytes"`
	HeapUnusedBytes   uint64 `json:"heap_unused_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"` // returned to the OS, not in RSS
	HeapStacksBytes   uint64 `json:"heap_stacks_bytes"`   // goroutine stacks (from the heap)
	OSStacksBytes     uint64 `json:"os_stacks_bytes"`     // threads' system stacks
	MetadataBytes     uint64 `json:"metadata_bytes"`      // GC metadata, mspans, mcaches
	ProfBucketsBytes  uint64 `json:"profiling_buckets_bytes"`
	OtherBytes        uint64 `json:"other_bytes"`
	TotalBytes        uint64 `json:"total_bytes"` // /memory/classes/total: all the runtime mapped
	Goroutines        uint64 `json:"goroutines"`
	GCCycles          uint64 `json:"gc_cycles"`
}

var memorySamples = []string{
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mcache/free:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
}

// allocAndGC reads the bytes allocated on the heap since the process
// started and the GC cycles completed.
func allocAndGC() [2]uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return [2]uint64{s[0].Value.Uint64(), s[1].Value.Uint64()}
}

// readMemory reads the process's memory account now.
func readMemory() *Memory {
	s := make([]metrics.Sample, len(memorySamples))
	for i, name := range memorySamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	m := &Memory{
		HeapObjectsBytes:  v(0),
		HeapLiveBytes:     v(1),
		HeapGoalBytes:     v(2),
		HeapFreeBytes:     v(3),
		HeapUnusedBytes:   v(4),
		HeapReleasedBytes: v(5),
		HeapStacksBytes:   v(6),
		OSStacksBytes:     v(7),
		MetadataBytes:     v(8) + v(9) + v(10) + v(11) + v(12),
		ProfBucketsBytes:  v(13),
		OtherBytes:        v(14),
		TotalBytes:        v(15),
		Goroutines:        v(16),
		GCCycles:          v(17),
	}
	m.RSSAnonBytes, m.RSSFileBytes = statusField("/proc/self/status", "RssAnon:"), statusField("/proc/self/status", "RssFile:")
	return m
}

// statusField reads a field in kB from a /proc/<pid>/status file, in bytes.
func statusField(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// writeGoroutineProfile writes the goroutines grouped by stack (the text
// form, with counts) to path: which parts of the node hold how many.
func writeGoroutineProfile(path string) error { return writeProfile("goroutine", path, 1) }
