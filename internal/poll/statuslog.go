package poll

import (
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// Status changes are logged one by one up to statusLogBurst a window; past
// that (a site unreachable, a node overloaded: thousands of checks flapping
// between timeout and success) they are counted, and one summary line at
// the window's end says how many, by status. A line per change would be
// megabytes a minute (8.5 MB in 30 s at 50,000 checks a second on an
// overloaded 2-core node), written by the node that can least afford it.
const (
	statusLogBurst  = 100
	statusLogWindow = 10 * time.Second
)

// statusLogLimit is the Runner's budget of status-change lines.
type statusLogLimit struct {
	window time.Duration // 0: statusLogWindow (tests shorten it)

	mu        sync.Mutex
	began     time.Time      // the window's start
	logged    int            // lines logged in the window
	failed    map[string]int // changes to failing not logged, by status name
	recovered int            // recoveries not logged
	pending   bool           // a summary is scheduled
}

// allow reports whether a status change may have its own line; if not,
// it is counted for the summary that log gets at the window's end. status
// is the failure's name, "" for a recovery.
func (l *statusLogLimit) allow(log *slog.Logger, status string) bool {
	window := l.window
	if window == 0 {
		window = statusLogWindow
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.began) >= window {
		l.began, l.logged = now, 0
	}
	if l.logged < statusLogBurst {
		l.logged++
		return true
	}
	if status == "" {
		l.recovered++
	} else {
		if l.failed == nil {
			l.failed = map[string]int{}
		}
		l.failed[status]++
	}
	if !l.pending {
		l.pending = true
		time.AfterFunc(window-now.Sub(l.began), func() { l.summarize(log, window) })
	}
	return false
}

func (l *statusLogLimit) summarize(log *slog.Logger, window time.Duration) {
	l.mu.Lock()
	failed, recovered := l.failed, l.recovered
	l.failed, l.recovered, l.pending = nil, 0, false
	l.mu.Unlock()
	total := recovered
	counts := make([]any, 0, len(failed))
	for _, status := range slices.Sorted(maps.Keys(failed)) {
		counts = append(counts, slog.Int(status, failed[status]))
		total += failed[status]
	}
	log.Warn("check status changes not logged one by one: too many at once (is a site unreachable, or this node overloaded?); panoptes_poll_checks_total has them by plugin and status",
		"changes", total, slog.Group("failed", counts...), "recovered", recovered, "window", window, "logged_per_window", statusLogBurst)
}
