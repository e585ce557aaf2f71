package sink

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink/file/rotate"
)

// recordSink is a test sink (type "test_record"): it records every batch it
// is given, fails the first failFirst writes, rejects records whose "seq"
// dimension is in reject, and counts Serve and Close calls.
type recordSink struct {
	mu        sync.Mutex
	batches   [][]string // seq dimension per record
	attempts  []time.Time
	failFirst int
	delay     time.Duration // each write takes this long
	reject    map[string]bool
	serveErr  error
	served    int
	closed    int
}

func init() {
	Register("test_record", func(plugin.Block, Deps) (Sink, error) {
		return &recordSink{reject: map[string]bool{}}, nil
	})
}

func (s *recordSink) Write(_ context.Context, batch []Record) error {
	s.mu.Lock()
	s.attempts = append(s.attempts, time.Now())
	delay := s.delay
	s.mu.Unlock()
	time.Sleep(delay) // unlocked: the test may look meanwhile
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.attempts) <= s.failFirst {
		return errors.New("store unavailable")
	}
	var seqs []string
	rej := &Rejected{Reasons: map[int]error{}}
	for i, r := range batch {
		seq := r.Group.Dimension("seq")
		seqs = append(seqs, seq)
		if s.reject[seq] {
			rej.Reasons[i] = fmt.Errorf("seq %s is malformed for this store", seq)
		}
	}
	s.batches = append(s.batches, seqs)
	if len(rej.Reasons) > 0 {
		return rej
	}
	return nil
}

func (s *recordSink) Serve(ctx context.Context) error {
	s.mu.Lock()
	s.served++
	err := s.serveErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func (s *recordSink) Close() error {
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
	return nil
}

func (s *recordSink) snapshot() (batches [][]string, attempts []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.batches...), append([]time.Time(nil), s.attempts...)
}

func (s *recordSink) records() int {
	b, _ := s.snapshot()
	n := 0
	for _, x := range b {
		n += len(x)
	}
	return n
}

// sliceReader is a fake Kafka source (kind "kafka" in this package's tests):
// it hands its batches to the handler one after the other and records what
// the handler returned for each.
type sliceReader struct {
	batches [][]Record
	results chan error
}

var readers = struct {
	sync.Mutex
	next *sliceReader
}{}

func init() {
	RegisterSource("kafka", func(plugin.Block, SourceDeps) (Reader, error) {
		readers.Lock()
		defer readers.Unlock()
		if readers.next == nil {
			return &sliceReader{results: make(chan error, 16)}, nil
		}
		r := readers.next
		readers.next = nil
		return r, nil
	})
}

func (r *sliceReader) Run(ctx context.Context, handle func(context.Context, []Record) error) error {
	for _, b := range r.batches {
		err := handle(ctx, b)
		r.results <- err
		if err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// fileConfig is the block of a "test_file" sink: the file sink (package
// sink/file, which imports this one) over the same engine, rotate.File,
// so the consumer is tested writing a real file.
type fileConfig struct {
	Path     string          `yaml:"path"`
	MaxSize  plugin.ByteSize `yaml:"max_size"`
	MaxFiles int             `yaml:"max_files"`
}

// fileBlock is the block of a test_file sink writing path.
func fileBlock(path string) plugin.Block { return plugin.BlockOf(fileConfig{Path: path}) }

// testFile is the test_file sink: a RawWriter of lines to a rotating file.
type testFile struct{ out *rotate.File }

func init() {
	Register("test_file", func(options plugin.Block, deps Deps) (Sink, error) {
		var c fileConfig
		if err := options.Decode(&c); err != nil {
			return nil, err
		}
		if c.MaxSize == 0 {
			c.MaxSize = 100 << 20
		}
		if c.MaxFiles == 0 {
			c.MaxFiles = 5
		}
		return &testFile{out: rotate.New("sink "+deps.Name, c.Path, int64(c.MaxSize), c.MaxFiles, nil)}, nil
	})
}

func (f *testFile) Write(ctx context.Context, batch []Record) error {
	return f.WriteRaw(ctx, slices.Values(batch))
}

func (f *testFile) WriteRaw(_ context.Context, records iter.Seq[Record]) error {
	return f.out.WriteAll(func(yield func([]byte) bool) {
		for r := range records {
			if !yield(r.Data) {
				return
			}
		}
	})
}

func (f *testFile) Close() error { return f.out.Close() }
