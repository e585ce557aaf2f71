package main

import "runtime/debug"

// defaultGCPercent is the garbage collector's target when GOGC is not set:
// the heap may grow by half its live data between collections instead of
// Go's default of all of it. At 10,000 devices that takes the process from
// 22 to 17 KB of RSS per device (interface checks without enrichment) for
// no CPU difference the benchmark harness can see (BENCHMARKS.md); GC was
// about 1 % of the CPU of 45,000 light checks/s. GOGC=100 restores Go's
// default; GOMEMLIMIT works as in any Go program.
const defaultGCPercent = 50

// setDefaultGC applies defaultGCPercent unless the environment sets GOGC.
func setDefaultGC(lookupEnv func(string) (string, bool)) {
	if _, ok := lookupEnv("GOGC"); ok {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}
