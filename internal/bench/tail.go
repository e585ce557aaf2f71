package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/latency"
)

// tailer follows the file sink's output and measures poll→sink latency: the
// time from a check's end (its status group's metric timestamp) to the
// moment its line is readable in the file. It looks only at status lines and
// reads one number from each, to keep its own CPU out of the figures. It
// reads when the sink writes (see run), at most every minGap (20ms): its
// resolution is 20ms while the sink writes more often than that, the
// wake-up's (under a millisecond) otherwise. Above sampleAbove lines per
// read on average (5,000 lines/s at a read every 20ms; light checks write
// 100,000) it looks at every sampleStride-th line only (an unbiased
// sample; every line is still counted).
type tailer struct {
	path  string
	polls atomic.Uint64 // reads of the file, for tests

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
	minGap       = 20 * time.Millisecond
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
	// The file is read when the sink writes to it (inotify on its
	// directory), at most every minGap, with a slow tick as a safety net.
	// Polling every 20ms instead cost the harness 0.010 cores of wake-ups,
	// more than a node of 10 devices itself (0.008); it is the fallback.
	wake := watchDir(ctx, filepath.Dir(t.path))
	every := minGap
	if wake != nil {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var sample sampler
	var last time.Time
	for {
		if wait := minGap - time.Since(last); wait > 0 {
			time.Sleep(wait) // writes in the meantime are read together
		}
		last = time.Now()
		if f == nil {
			var err error
			f, err = os.Open(t.path)
			if err != nil {
				f = nil
			}
		}
		if f != nil && t.poll(f, &buf, &sample) {
			f.Close() // rotated: the new file is opened and read at once
			f, buf = nil, buf[:0]
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// poll reads f to its end, counting and sampling lines, and reports
// whether the path now names another file (the sink rotated it).
func (t *tailer) poll(f *os.File, buf *[]byte, sample *sampler) (rotated bool) {
	t.polls.Add(1)
	// The file sink rotates by size: once the path names another file,
	// read the old one to its end, then follow the new one.
	if cur, err := os.Stat(t.path); err == nil {
		if open, err := f.Stat(); err == nil && !os.SameFile(open, cur) {
			rotated = true
		}
	}
	now := float64(time.Now().UnixNano()) / 1e9
	var lines uint64
	b := *buf
	for {
		if len(b) == cap(b) { // a line longer than the buffer
			b = slices.Grow(b, cap(b))
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		start := 0
		for {
			i := bytes.IndexByte(b[start:], '\n')
			if i < 0 {
				break
			}
			lines++
			if sample.take() {
				t.observe(b[start:start+i], now)
			}
			start += i + 1
		}
		b = b[:copy(b, b[start:])]
		if n == 0 || err != nil {
			break
		}
	}
	*buf = b
	sample.endPoll(lines)
	t.mu.Lock()
	t.lines += lines
	t.mu.Unlock()
	return rotated
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
