package rate

import (
	"math"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// sample is the previous reading of one counter series.
type sample struct {
	value  uint64
	at     float64 // the metric's timestamp, epoch seconds
	uptime uint32
	disc   uint32
	flags  uint8
}

const (
	flagUptime uint8 = 1 << iota
	flagDisc
)

func sampleOf(m *metric.Metric) sample {
	s := sample{value: m.Value.Uint64(), at: m.Timestamp, uptime: m.Hint.Uptime, disc: m.Hint.Discontinuity}
	if m.Hint.HaveUptime {
		s.flags |= flagUptime
	}
	if m.Hint.HaveDiscontinuity {
		s.flags |= flagDisc
	}
	return s
}

// outcome says why a rate was or was not produced (a self-metric label).
type outcome uint8

const (
	outRate        outcome = iota // a rate
	outWrap                       // a rate across a counter wrap
	outFirst                      // no previous sample
	outStale                      // same or older timestamp: ignored
	outGap                        // Δt above the limit (missed polls)
	outRestart                    // sysUpTime says the agent restarted
	outDiscontinue                // ifCounterDiscontinuityTime moved
	outBackwards                  // the counter went down and no wrap explains it
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"rate", "wrap", "first", "stale", "gap", "restart", "discontinuity", "backwards"}

// maxTolerance lets a rate exceed the interface speed a little: ifSpeed is
// rounded and the two counter reads are not at exactly the stamped times.
const maxTolerance = 1.1

// compute derives the per-second rate from prev to cur. maxGap is the
// largest Δt accepted in seconds (0: any); maxRate the largest plausible
// rate (0: unknown), which decides whether a counter that went down wrapped
// or restarted when nothing else says.
func compute(prev, cur sample, bits uint8, maxGap, maxRate float64) (float64, outcome) {
	dt := cur.at - prev.at
	if dt <= 0 {
		return 0, outStale
	}
	if maxGap > 0 && dt > maxGap {
		return 0, outGap
	}
	if prev.flags&cur.flags&flagUptime != 0 {
		// The agent restarted if its uptime went back, or advanced by less
		// than half the wall time (it restarted and went back above the
		// previous value). A TimeTicks wrap (497 days) also lands here and
		// costs one rate.
		if cur.uptime < prev.uptime || float64(cur.uptime-prev.uptime) < dt*100/2 {
			return 0, outRestart
		}
	}
	if prev.flags&cur.flags&flagDisc != 0 && prev.disc != cur.disc {
		return 0, outDiscontinue
	}
	if cur.value >= prev.value {
		return float64(cur.value-prev.value) / dt, outRate
	}
	if bits == 0 || bits >= 64 {
		// A 64-bit counter does not wrap in a device's lifetime; an unknown
		// one cannot be trusted to.
		return 0, outBackwards
	}
	d := cur.value + (uint64(1) << bits) - prev.value
	r := float64(d) / dt
	if maxRate > 0 && r > maxRate*maxTolerance {
		return 0, outBackwards
	}
	return r, outWrap
}

// maxRateFor is the largest plausible rate of a counter of an interface
// group from its configured_speed (bits/s): bits at line rate, packets at
// minimum-size Ethernet frames (84 bytes on the wire with preamble and
// gap). 0 when the group has no speed.
func maxRateFor(name string, speed float64) float64 {
	if speed <= 0 || math.IsNaN(speed) {
		return 0
	}
	if len(name) >= 5 && name[:5] == "bits_" {
		return speed
	}
	return speed / (84 * 8)
}
