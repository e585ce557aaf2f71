package bench

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/latency"
)

// tailer follows the file sink's output and measures poll→sink latency: the
// time from a check's end (its status group's metric timestamp) to the
// moment its line is readable in the file. It looks only at status lines and
// reads one number from each, to keep its own CPU out of the figures; its
// resolution is its poll period (20ms). Above sampleAbove lines per poll on
// average (5,000 lines/s; light checks write 100,000) it looks at every
// sampleStride-th line only (an unbiased sample; every line is still
// counted).
type tailer struct {
	path string

	mu    sync.Mutex
	hist  *latency.Hist
	lines uint64
}

func newTailer(path string) *tailer { return &tailer{path: path, hist: &latency.Hist{}} }

func (t *tailer) reset() {
	t.mu.Lock()
	t.hist = &latency.Hist{}
	t.lines = 0
	t.mu.Unlock()
}

func (t *tailer) quantiles() (p50, p99 time.Duration, lines uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.hist.Quantiles(0.5, 0.99)
	return q[0], q[1], t.lines
}

const (
	sampleAbove  = 100
	sampleStride = 4
)

var (
	typeMarker = []byte(`"metrics_group_type":"`)
	tsMarker   = []byte(`"metric_creation_timestamp":`)
)

func (t *tailer) run(ctx context.Context) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	// buf holds unread bytes from its start: lines are cut in place and the
	// incomplete last one is moved back to the start, so reading costs no
	// allocation (appending chunks to a re-sliced buffer reallocated it at
	// every tick and made the tailer a fifth of the measured CPU).
	buf := make([]byte, 0, 1<<20)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var sample sampler
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if f == nil {
			var err error
			if f, err = os.Open(t.path); err != nil {
				continue
			}
		}
		// The file sink rotates by size: once the path names another file,
		// read the old one to its end, then follow the new one.
		rotated := false
		if cur, err := os.Stat(t.path); err == nil {
			if open, err := f.Stat(); err == nil && !os.SameFile(open, cur) {
				rotated = true
			}
		}
		now := float64(time.Now().UnixNano()) / 1e9
		var lines uint64
		for {
			if len(buf) == cap(buf) { // a line longer than the buffer
				buf = slices.Grow(buf, cap(buf))
			}
			n, err := f.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			start := 0
			for {
				i := bytes.IndexByte(buf[start:], '\n')
				if i < 0 {
					break
				}
				lines++
				if sample.take() {
					t.observe(buf[start:start+i], now)
				}
				start += i + 1
			}
			buf = buf[:copy(buf, buf[start:])]
			if n == 0 || err != nil {
				break
			}
		}
		if rotated {
			f.Close()
			f, buf = nil, buf[:0]
		}
		sample.endPoll(lines)
		t.mu.Lock()
		t.lines += lines
		t.mu.Unlock()
	}
}

// sampler chooses the lines a poll looks at: every sampleStride-th while
// polls average more than sampleAbove lines, else all. The average spans
// about 16 polls: the sink writes in batches, so most polls of a busy file
// find nothing and the next finds thousands of lines.
type sampler struct {
	stride, seen uint64
	avg          float64 // lines per poll, exponentially weighted
}

func (s *sampler) take() bool {
	s.seen++
	return s.stride <= 1 || s.seen%s.stride == 0
}

func (s *sampler) endPoll(lines uint64) {
	s.avg += (float64(lines) - s.avg) / 16
	s.stride = 1
	if s.avg > sampleAbove {
		s.stride = sampleStride
	}
}

// observe records the latency of a status line.
func (t *tailer) observe(line []byte, now float64) {
	// The type comes before the metrics: looking for the type key, not
	// for the status type, stops the scan of an interface line (~5 KB) a
	// sixth of the way in.
	i := bytes.Index(line, typeMarker)
	if i < 0 || !bytes.HasPrefix(line[i+len(typeMarker):], []byte(`status"`)) {
		return
	}
	j := bytes.Index(line, tsMarker)
	if j < 0 {
		return
	}
	rest := line[j+len(tsMarker):]
	k := bytes.IndexAny(rest, ",}")
	if ts, err := strconv.ParseFloat(string(rest[:max(k, 0)]), 64); err == nil {
		t.mu.Lock()
		t.hist.Observe(time.Duration((now - ts) * 1e9))
		t.mu.Unlock()
	}
}
