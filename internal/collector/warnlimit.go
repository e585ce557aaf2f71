package collector

import (
	"sync"
	"time"
)

// warnLimit bounds a per-check warning to warnBurst lines a second. When
// the bus fails every check's publish (a full buffer, an outage), a line
// per check is 50,000 a second on a busy node: CPU the node needs to catch
// up, for lines that say what the first few said. The next line written
// says how many were left out.
type warnLimit struct {
	mu      sync.Mutex
	window  time.Time // start of the current second
	written int       // lines written in it
	left    int       // lines left out since the last written one
}

const warnBurst = 10

// allow reports whether a line may be written at now, and how many were
// left out before it.
func (l *warnLimit) allow(now time.Time) (ok bool, leftOut int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.written = now, 0
	}
	if l.written >= warnBurst {
		l.left++
		return false, 0
	}
	l.written++
	leftOut, l.left = l.left, 0
	return true, leftOut
}
