package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// rawSink is a test RawWriter (type "test_raw"): it keeps a copy of every
// record it stored, can fail or stop early, and calls onRecord for each
// record it pulls and onWrite for each decoded batch (when fed through
// decodedOnly).
type rawSink struct {
	mu        sync.Mutex
	stored    []string // seq dimension of every stored record, in order
	attempts  int
	failFirst int // these attempts fail after pulling failAt records
	failAt    int
	stopEarly bool // return nil after the first record
	onRecord  func(Record)
	onWrite   func([]Record)
}

func init() {
	Register("test_raw", func(plugin.Block, Deps) (Sink, error) { return &rawSink{}, nil })
}

func (s *rawSink) Write(_ context.Context, batch []Record) error {
	if s.onWrite != nil {
		s.onWrite(batch)
	}
	return nil
}

func (s *rawSink) WriteRaw(_ context.Context, records iter.Seq[Record]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	var batch []string
	for r := range records {
		if r.Group != nil {
			return errors.New("a raw writer was given a decoded group")
		}
		if s.onRecord != nil {
			s.onRecord(r)
		}
		if s.attempts <= s.failFirst && len(batch) == s.failAt {
			return errors.New("store unavailable")
		}
		g, err := metric.Decode(r.Data)
		if err != nil {
			return fmt.Errorf("a record Validate accepted does not decode: %w", err)
		}
		batch = append(batch, g.Dimension("seq"))
		if s.stopEarly {
			break
		}
	}
	s.stored = append(s.stored, batch...)
	return nil
}

func (s *rawSink) snapshot() (stored []string, attempts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stored...), s.attempts
}

// groupLine is the JSON of test group seq, optionally broken by edit.
func groupLine(seq int, edit func(*metric.Group)) []byte {
	g := interfaceGroup(seq)
	if edit != nil {
		edit(g)
	}
	return metric.AppendJSON(nil, g)
}

// publishLines publishes lines as one bus message, S2-compressed as
// PublishSet does.
func publishLines(t *testing.T, js jetstream.JetStream, lines ...[]byte) {
	t.Helper()
	payload := s2frame.Append(nil, append(bytes.Join(lines, []byte("\n")), '\n'))
	if _, err := js.Publish(context.Background(), wire.MetricsSubject("site1", "interface"), payload); err != nil {
		t.Fatal(err)
	}
}

// TestRawPathSetsAsideLikeDecoded: a file sink (streamed, validated) and a
// decoding sink read the same messages: both set aside the same groups,
// with the same reason and dead-letter id, and write the rest.
func TestRawPathSetsAsideLikeDecoded(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	// A metric_type no Go value encodes to: Decode's error names it.
	badType := bytes.Replace(groupLine(2, nil), []byte(`"metric_type":"counter"`), []byte(`"metric_type":"bogus"`), 1)
	if bytes.Equal(badType, groupLine(2, nil)) {
		t.Fatal("the interface group has no counter")
	}
	noResource := groupLine(4, func(g *metric.Group) { g.Resource = nil })
	garbage := []byte(`{"metrics_group_type":"x",`)
	publishLines(t, js, groupLine(0, nil), groupLine(1, nil), badType)
	publishLines(t, js, garbage, groupLine(3, nil))
	publishLines(t, js, noResource)
	damaged := s2frame.Append(nil, groupLine(5, nil))
	damaged = damaged[:len(damaged)-3]
	if _, err := js.Publish(context.Background(), wire.MetricsSubject("site1", "interface"), damaged); err != nil {
		t.Fatal(err)
	}
	publishLines(t, js, groupLine(6, nil))

	path := filepath.Join(t.TempDir(), "m.jsonl")
	reg := prometheus.NewRegistry()
	file := fastConsumer(t, config.Sink{Name: "raw", Options: fileBlock(path)}, reg)
	decoded, _ := testConsumer(t, config.Sink{Name: "decoded"}, nil)
	running(t, file, js)
	running(t, decoded, js)
	eventually(t, "both acked everything", func() bool { return ackFloor(t, js, "raw") == 5 && ackFloor(t, js, "decoded") == 5 })

	got := seqs(t, path)
	// seq 5 is inside the damaged message: set aside whole, not written.
	if len(got) != 4 || got["0"] != 1 || got["1"] != 1 || got["3"] != 1 || got["6"] != 1 {
		t.Errorf("file holds seqs %v, want 0, 1, 3 and 6 once", got)
	}
	dl := deadLetterMsgs(t, js, 8)
	type letter struct{ id, reason, body string }
	bySink := map[string][]letter{}
	for _, m := range dl {
		sinkName := m.Header.Get(HeaderSink)
		id := strings.TrimPrefix(m.Header.Get(jetstream.MsgIDHeader), DurableName(sinkName))
		bySink[sinkName] = append(bySink[sinkName], letter{id, m.Header.Get(HeaderReason), string(m.Data)})
	}
	raw, dec := bySink["raw"], bySink["decoded"]
	if len(raw) != 4 || len(dec) != 4 {
		t.Fatalf("dead letters: raw %d, decoded %d; want 4 each", len(raw), len(dec))
	}
	want := map[string]string{} // body → reason, as Decode words it
	for _, line := range [][]byte{badType, noResource, garbage} {
		_, err := metric.Decode(line)
		want[string(line)] = "decode: " + err.Error()
	}
	for _, l := range raw {
		if r, ok := want[l.body]; ok && l.reason != r {
			t.Errorf("raw path reason %q, want %q", l.reason, r)
		}
	}
	for i := range raw {
		found := false
		for _, d := range dec {
			found = found || d == raw[i]
		}
		if !found {
			t.Errorf("raw path dead letter %+v has no twin on the decoded path %+v", raw[i], dec)
		}
	}
	if v := counterWithLabel(t, reg, "panoptes_sink_messages_dead_lettered_total", "reason", "decode"); v != 4 {
		t.Errorf("dead_lettered{reason=decode} = %v, want 4", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 4 {
		t.Errorf("messages_written_total = %v, want 4", v)
	}
}

// TestRawWriteFailureAcksNothing: while a raw sink fails part way through a
// batch, no message with a record in it is acked (a message of poison
// alone, settled before, is); once it recovers all is written.
func TestRawWriteFailureAcksNothing(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	reg := prometheus.NewRegistry()
	c := fastConsumer(t, config.Sink{Name: "flaky-raw", Type: "test_raw"}, reg)
	s := c.Sink().(*rawSink)
	s.failFirst, s.failAt = 3, 2
	publishLines(t, js, []byte("not a group"))
	for i := range 5 {
		publishLines(t, js, groupLine(2*i, nil), groupLine(2*i+1, nil))
	}
	c.pace.BackoffMin, c.pace.BackoffMax = 200*time.Millisecond, 200*time.Millisecond
	running(t, c, js)
	eventually(t, "two failed attempts", func() bool { _, n := s.snapshot(); return n >= 2 })
	if info := consumerInfo(t, js, "flaky-raw"); info.AckFloor.Stream > 1 {
		t.Fatalf("ack floor %d while the sink fails; only the poison message may be acked", info.AckFloor.Stream)
	}
	eventually(t, "everything acked", func() bool { return ackFloor(t, js, "flaky-raw") == 6 })
	stored, attempts := s.snapshot()
	once := map[string]int{}
	for _, seq := range stored {
		once[seq]++
	}
	if attempts < 4 || len(stored) != 10 || len(once) != 10 {
		t.Errorf("%d attempts stored %v; want 3 failures, then each of the 10 records once", attempts, stored)
	}
	deadLetterMsgs(t, js, 1) // the poison message, once, though its batch failed
	if v := gaugeValue(t, reg, "panoptes_sink_write_errors_total"); v != 3 {
		t.Errorf("write_errors_total = %v, want 3", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 10 {
		t.Errorf("messages_written_total = %v, want 10", v)
	}

	// A sink that returns nil without reading everything stored nothing
	// of the rest: that is a failure, not an ack.
	c2 := fastConsumer(t, config.Sink{Name: "early", Type: "test_raw"}, nil)
	c2.sink.(*rawSink).stopEarly = true
	res := c2.streamMsgs(context.Background(), c2.sink.(RawWriter), fetchedBatch(3, 2))
	if !res.retry[0] || !res.retry[1] || !res.retry[2] || res.written != 0 {
		t.Errorf("sink stopping early: retry %v, written %d; want all retried", res.retry, res.written)
	}
}

// TestFileSinkFailingWritesAckNothing: the file sink's streamed writes fail
// when the disk is full (/dev/full takes the open and fails the flush) or
// the file's path turns into a directory; nothing is acked meanwhile.
func TestFileSinkFailingWritesAckNothing(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	if _, err := os.Stat("/dev/full"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/dev/full is missing")
		}
		t.Skip("no /dev/full")
	}
	reg := prometheus.NewRegistry()
	full := fastConsumer(t, config.Sink{Name: "full", Options: fileBlock("/dev/full")}, reg)
	publish(t, b, 0, 10)
	stop := running(t, full, js)
	eventually(t, "failed writes", func() bool { return gaugeValue(t, reg, "panoptes_sink_write_errors_total") >= 2 })
	stop()
	if info := consumerInfo(t, js, "full"); info.AckFloor.Stream != 0 {
		t.Errorf("disk full: ack floor %d, want nothing acked", info.AckFloor.Stream)
	}

	path := filepath.Join(t.TempDir(), "m.jsonl")
	reg2 := prometheus.NewRegistry()
	c := fastConsumer(t, config.Sink{Name: "dir", Options: fileBlock(path)}, reg2)
	running(t, c, js)
	eventually(t, "the first 10 acked", func() bool { return ackFloor(t, js, "dir") == 10 })
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	publish(t, b, 10, 20)
	eventually(t, "failed writes", func() bool { return gaugeValue(t, reg2, "panoptes_sink_write_errors_total") >= 2 })
	if info := consumerInfo(t, js, "dir"); info.AckFloor.Stream != 10 {
		t.Fatalf("path is a directory: ack floor %d, want 10", info.AckFloor.Stream)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the 10 new lines", func() bool { return len(seqs(t, path)) == 10 && ackFloor(t, js, "dir") == 20 })
}

// TestFileSinkFromReader: Kafka-sourced batches reach the file sink
// validated, not decoded; an invalid record is set aside with Decode's
// reason.
func TestFileSinkFromReader(t *testing.T) {
	b := openBus(t, t.TempDir())
	bad := groupLine(1, func(g *metric.Group) { g.Interval = 0 })
	r := &sliceReader{results: make(chan error, 1), batches: [][]Record{{
		{Subject: "t", Data: groupLine(0, nil)}, {Subject: "t", Data: bad}, {Subject: "t", Data: groupLine(2, nil), Group: interfaceGroup(2)},
	}}}
	readers.Lock()
	readers.next = r
	readers.Unlock()
	path := filepath.Join(t.TempDir(), "k.jsonl")
	c := fastConsumer(t, config.Sink{Name: "kfile", Options: fileBlock(path), Source: map[string]plugin.Block{"kafka": plugin.BlockOf(map[string]any{"topics": []string{"t"}})}}, nil)
	running(t, c, b.JetStream())
	if err := <-r.results; err != nil {
		t.Fatal(err)
	}
	if got := seqs(t, path); len(got) != 2 || got["0"] != 1 || got["2"] != 1 {
		t.Errorf("file holds %v, want seqs 0 and 2", got)
	}
	_, err := metric.Decode(bad)
	dl := deadLetterMsgs(t, b.JetStream(), 1)
	if reason := dl[0].Header.Get(HeaderReason); reason != "decode: "+err.Error() || !bytes.Equal(dl[0].Data, bad) {
		t.Errorf("dead letter %q: %q; want the record with reason %q", dl[0].Data, reason, "decode: "+err.Error())
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStreamHoldsOneMessage fetches a batch of 60 compressed messages of
// ~240 KB of JSON each (14 MB in all) and settles it twice: streamed to a
// RawWriter, the heap grows by about one message and every message is
// decompressed into the same buffer; decoded for a plain sink, the heap
// grows by the whole batch and its groups.
func TestStreamHoldsOneMessage(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	const msgs, groups = 60, 75
	plain := 0
	for i := range msgs {
		data := checkMessage(groups, i*groups)
		p, _ := s2frame.Decode(nil, data)
		plain += len(p)
		if _, err := js.Publish(context.Background(), wire.MetricsSubject("site1", "interface"), data); err != nil {
			t.Fatal(err)
		}
	}
	perMsg := uint64(plain / msgs)

	buffers := map[*byte]bool{} // decompression buffers the streamed records came from
	settle := func(name string, wrap func(*rawSink) Sink) (peak uint64, stored int) {
		c := fastConsumer(t, config.Sink{Name: name, Type: "test_raw", BatchSize: msgs}, nil)
		s := c.sink.(*rawSink)
		c.sink = wrap(s)
		cons, err := c.ensure(context.Background(), js, wire.MetricsStream)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.Fetch(msgs, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchMaxBytes(fetchMaxBytes))
		if err != nil {
			t.Fatal(err)
		}
		var fetched []jetstream.Msg
		for m := range batch.Messages() {
			fetched = append(fetched, m)
		}
		if len(fetched) != msgs {
			t.Fatalf("fetched %d messages, want %d in one batch", len(fetched), msgs)
		}
		sample := func() { peak = max(peak, liveHeap()) }
		n := 0
		s.onRecord = func(r Record) {
			if n%groups == 0 {
				sample()
				// The end of the record's backing array names its buffer.
				buffers[unsafe.SliceData(r.Data[:cap(r.Data)][cap(r.Data)-1:])] = true
			}
			n++
		}
		s.onWrite = func(recs []Record) { stored = len(recs); sample() }
		base := liveHeap()
		bo := c.newBackoff()
		c.handleMsgs(context.Background(), js, wire.MetricsStream, fetched, &bo)
		if recs, _ := s.snapshot(); len(recs) > 0 {
			stored = len(recs)
		}
		return peak - min(peak, base), stored
	}
	rawPeak, rawStored := settle("mem-raw", func(s *rawSink) Sink { return s })
	decPeak, decStored := settle("mem-decoded", func(s *rawSink) Sink { return decodedOnly{s} })
	t.Logf("batch: %d messages, %d KB of JSON (%d KB each); heap growth while settling: streamed %d KB, decoded %d KB",
		msgs, plain>>10, perMsg>>10, rawPeak>>10, decPeak>>10)
	if rawStored != msgs*groups || decStored != msgs*groups {
		t.Fatalf("stored %d streamed and %d decoded records, want %d", rawStored, decStored, msgs*groups)
	}
	if len(buffers) > 3 { // it grows (and so moves) at most a few times
		t.Errorf("the %d messages were decompressed into %d buffers, want one reused", msgs, len(buffers))
	}
	// The heap moves by ~1 MB on its own (the server and client run here
	// too): the bound is loose, the gap to the decoded path is not.
	if rawPeak > uint64(plain)/8 {
		t.Errorf("streaming held %d KB at once, want about one message (%d KB), far from the batch (%d KB)", rawPeak>>10, perMsg>>10, plain>>10)
	}
	if decPeak < uint64(plain)/2 {
		t.Errorf("the decoded path held only %d KB of a %d KB batch: the measurement is off", decPeak>>10, plain>>10)
	}
}
