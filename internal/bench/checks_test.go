package bench

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/node"
)

func TestCountChecks(t *testing.T) {
	s0 := node.Stats{Due: 1000, Started: 990, Skipped: 10}
	cases := []struct {
		name                   string
		want                   int
		duration               time.Duration
		s1                     node.Stats
		expected, due, started uint64
		skipped                uint64
		missed                 int64
	}{
		// 10,000 checks every 10s over 20s: 20,000 expected. One was due
		// just before the end and started just after: not missed (the old
		// expected − started counted it).
		{"due before the end, started after", 10000, 20 * time.Second, node.Stats{Due: 21000, Started: 20989, Skipped: 10},
			20000, 20000, 19999, 0, 0},
		// The timer reached 50 fewer due times than the window holds, and
		// skipped 7 of those it reached.
		{"due times not reached and skipped", 10000, 20 * time.Second, node.Stats{Due: 20950, Started: 20936, Skipped: 17},
			20000, 19950, 19946, 7, 57},
		// The measured window, longer than 20s by the sleep's lateness,
		// held 10 more due times: none missed.
		{"more due than expected", 10000, 20 * time.Second, node.Stats{Due: 21010, Started: 21000, Skipped: 10},
			20000, 20010, 20010, 0, 0},
		// Overloaded: 3,500 due times still wait for a worker, more than a
		// second late, when the window closes: they did not run in it.
		{"backlog at the end", 10000, 20 * time.Second, node.Stats{Due: 21000, Started: 17490, Skipped: 14, Overdue: 3500},
			20000, 20000, 16500, 4, 3504},
		// Two and a half intervals: floor(10,000 × 2.5).
		{"fraction of an interval", 10000, 25 * time.Second, node.Stats{Due: 26000, Started: 25990, Skipped: 10},
			25000, 25000, 25000, 0, 0},
	}
	for _, c := range cases {
		var r Result
		r.countChecks(c.want, c.duration, 10*time.Second, s0, c.s1)
		if r.ChecksExpected != c.expected || r.ChecksDue != c.due || r.ChecksStarted != c.started ||
			r.SkippedChecks != c.skipped || r.MissedChecks != c.missed {
			t.Errorf("%s: expected %d due %d started %d skipped %d missed %d; want %d %d %d %d %d", c.name,
				r.ChecksExpected, r.ChecksDue, r.ChecksStarted, r.SkippedChecks, r.MissedChecks,
				c.expected, c.due, c.started, c.skipped, c.missed)
		}
	}
}
