package sink

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// deadLetterMsgs waits for want messages on the dead-letter stream and
// returns them in order.
func deadLetterMsgs(t *testing.T, js jetstream.JetStream, want int) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	var s jetstream.Stream
	eventually(t, "the dead-letter stream", func() bool {
		var err error
		s, err = js.Stream(ctx, DeadLetterStream)
		return err == nil && s.CachedInfo().State.Msgs >= uint64(want)
	})
	info := s.CachedInfo()
	if info.State.Msgs != uint64(want) {
		t.Fatalf("dead-letter stream holds %d messages, want %d", info.State.Msgs, want)
	}
	if info.Config.Retention != jetstream.LimitsPolicy || info.Config.Subjects[0] != DeadLetterPrefix+">" || info.Config.MaxAge == 0 {
		t.Errorf("dead-letter stream config: %+v", info.Config)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestGarbageIsDeadLettered: a message that is not a metrics group is set
// aside with its reason and the stream moves on past it.
func TestGarbageIsDeadLettered(t *testing.T) {
	b := openBus(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	reg := prometheus.NewRegistry()
	c := fastConsumer(t, config.Sink{Name: "file.main", Options: fileBlock(path)}, reg)
	publish(t, b, 0, 10)
	garbage := []byte("\x00\x01 not a metrics group {")
	if _, err := b.JetStream().Publish(context.Background(), wire.MetricsSubject("site1", "interface"), garbage); err != nil {
		t.Fatal(err)
	}
	publish(t, b, 10, 20)
	running(t, c, b.JetStream())

	eventually(t, "everything acked", func() bool { return ackFloor(t, b.JetStream(), "file.main") == 21 })
	if got := seqs(t, path); len(got) != 20 {
		t.Errorf("file holds %d groups, want the 20 valid ones", len(got))
	}
	info := consumerInfo(t, b.JetStream(), "file.main")
	if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("consumer: pending %d, ack pending %d, redelivered %d; want 0", info.NumPending, info.NumAckPending, info.NumRedelivered)
	}
	dl := deadLetterMsgs(t, b.JetStream(), 1)
	m := dl[0]
	if m.Subject != "panoptes.deadletter.file_main" || string(m.Data) != string(garbage) {
		t.Errorf("dead letter on %s = %q, want the garbage on panoptes.deadletter.file_main", m.Subject, m.Data)
	}
	if r := m.Header.Get(HeaderReason); !strings.HasPrefix(r, "decode: decode metrics group:") {
		t.Errorf("reason header %q", r)
	}
	if m.Header.Get(HeaderSubject) != "panoptes.metrics.site1.interface" || m.Header.Get(HeaderSink) != "file.main" {
		t.Errorf("headers %v", m.Header)
	}
	if v := counterWithLabel(t, reg, "panoptes_sink_messages_dead_lettered_total", "reason", "decode"); v != 1 {
		t.Errorf("dead_lettered{reason=decode} = %v, want 1", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 20 {
		t.Errorf("messages_written_total = %v, want 20", v)
	}
}

// TestRejectedAreDeadLettered: records the store refuses as malformed are
// set aside; the rest of their batch counts as written and is acked.
func TestRejectedAreDeadLettered(t *testing.T) {
	b := openBus(t, t.TempDir())
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "picky"}, reg)
	s.reject["3"], s.reject["7"] = true, true
	publish(t, b, 0, 10)
	running(t, c, b.JetStream())
	eventually(t, "everything acked", func() bool { return ackFloor(t, b.JetStream(), "picky") == 10 })

	dl := deadLetterMsgs(t, b.JetStream(), 2)
	for i, seq := range []string{"3", "7"} {
		if r := dl[i].Header.Get(HeaderReason); r != "rejected: seq "+seq+" is malformed for this store" {
			t.Errorf("dead letter %d reason %q", i, r)
		}
	}
	if v := counterWithLabel(t, reg, "panoptes_sink_messages_dead_lettered_total", "reason", "rejected"); v != 2 {
		t.Errorf("dead_lettered{reason=rejected} = %v, want 2", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 8 {
		t.Errorf("messages_written_total = %v, want 8", v)
	}
	if batches, _ := s.snapshot(); len(batches) != 1 {
		t.Errorf("the store saw %d batches, want 1 (rejected records are not retried)", len(batches))
	}
}

func TestHeaderValue(t *testing.T) {
	if got := headerValue("line 1\r\nline\t2", 100); got != "line 1  line 2" {
		t.Errorf("headerValue = %q", got)
	}
	long := strings.Repeat("é", 10) // 2 bytes each
	if got := headerValue(long, 5); got != "éé..." {
		t.Errorf("cut = %q, want whole runes", got)
	}
}

func counterWithLabel(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestBatchedMessages: a bus message holds several groups, one per line
// (wire.Groups). Each becomes a record; a bad line or a rejected record is
// set aside alone, and the rest of its message is written and acked.
func TestBatchedMessages(t *testing.T) {
	b := openBus(t, t.TempDir())
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "picky"}, reg)
	s.reject["13"] = true
	if err := publishSets(b, 0, 30, 10); err != nil { // 3 messages of 10 groups
		t.Fatal(err)
	}
	// A message of three lines whose middle one is garbage.
	var mixed []byte
	for _, i := range []int{30, -1, 31} {
		if i < 0 {
			mixed = append(mixed, "\x00 not a group {\n"...)
			continue
		}
		r := &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "sw1"}
		g := &metric.Group{Resource: r, Type: "interface", Interval: 60, CreationTimestamp: 1, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "seq", Value: fmt.Sprint(i)}},
			Metrics:    []metric.Metric{{Name: "bits_in", Value: metric.Uint(uint64(i)), Type: metric.Counter, Timestamp: 1}}}
		mixed = append(metric.AppendJSON(mixed, g), '\n')
	}
	if _, err := b.JetStream().Publish(context.Background(), wire.MetricsSubject("site1", "interface"), mixed); err != nil {
		t.Fatal(err)
	}
	running(t, c, b.JetStream())
	eventually(t, "every message acked", func() bool { return ackFloor(t, b.JetStream(), "picky") == 4 })

	if got := s.records(); got != 32 {
		t.Errorf("sink got %d records, want the 32 decodable groups", got)
	}
	dl := deadLetterMsgs(t, b.JetStream(), 2)
	reasons := dl[0].Header.Get(HeaderReason) + " | " + dl[1].Header.Get(HeaderReason)
	if !strings.Contains(reasons, "rejected: seq 13 is malformed") || !strings.Contains(reasons, "decode:") {
		t.Errorf("dead letters: %s; want seq 13 rejected and one undecodable line", reasons)
	}
	for _, m := range dl {
		if bytes.Contains(m.Data, []byte("\n")) {
			t.Errorf("a dead letter holds more than its own group: %q", m.Data)
		}
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 31 {
		t.Errorf("messages_written_total = %v, want 31", v)
	}
	if info := consumerInfo(t, b.JetStream(), "picky"); info.NumRedelivered != 0 {
		t.Errorf("%d messages redelivered; want none", info.NumRedelivered)
	}
}

// TestCompressedMessages: S2-compressed bus messages (what PublishSet
// writes by default) are written like plain ones; a message whose
// compression is damaged is set aside whole, with a reason that says so,
// and the messages after it are written.
func TestCompressedMessages(t *testing.T) {
	b := openBus(t, t.TempDir()) // compression on: the default
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "zipped"}, reg)
	if err := publishSets(b, 0, 40, 20); err != nil { // 2 messages of 20 groups
		t.Fatal(err)
	}
	stream, err := b.JetStream().Stream(context.Background(), wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !wire.Compressed(first.Data) {
		t.Fatal("PublishSet wrote an uncompressed message; the test needs the default compression")
	}
	damaged := append([]byte(nil), first.Data[:len(first.Data)-7]...)
	if _, err := b.JetStream().Publish(context.Background(), wire.MetricsSubject("site1", "interface"), damaged); err != nil {
		t.Fatal(err)
	}
	if err := publishSets(b, 40, 60, 20); err != nil {
		t.Fatal(err)
	}
	running(t, c, b.JetStream())
	eventually(t, "every message acked", func() bool { return ackFloor(t, b.JetStream(), "zipped") == 4 })
	if got := s.records(); got != 60 {
		t.Errorf("sink got %d records, want the 60 groups of the intact messages", got)
	}
	dl := deadLetterMsgs(t, b.JetStream(), 1)
	if reason := dl[0].Header.Get(HeaderReason); !strings.Contains(reason, "damaged S2-compressed data") {
		t.Errorf("dead letter reason %q; want it to name the damaged compression", reason)
	}
	if !bytes.Equal(dl[0].Data, damaged) {
		t.Errorf("dead letter holds %d bytes, want the damaged message's %d as received", len(dl[0].Data), len(damaged))
	}
}

// TestDeadLetterStreamScaledUp: the sinks' dead-letter stream, made with
// one replica (a node that ran alone before its cluster grew), is scaled
// up to bus.replicas by the next sink that uses it; an operator's own
// stream is left alone; on a server too small for the replicas the scale-up
// is logged and poison messages still go to the stream as it is.
func TestDeadLetterStreamScaledUp(t *testing.T) {
	ctx := context.Background()
	replicas := func(js jetstream.JetStream) int {
		t.Helper()
		s, err := js.Stream(ctx, DeadLetterStream)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.Replicas
	}
	js := startCluster(t, 1)[0].JetStream()
	if err := newDeadLetters("old", 1, nil).ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	if r := replicas(js); r != 1 {
		t.Fatalf("made with %d replicas, want 1", r)
	}
	if err := newDeadLetters("new", 3, nil).ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	if r := replicas(js); r != 3 {
		t.Errorf("after a sink of bus.replicas 3: %d replicas, want 3", r)
	}

	if err := js.DeleteStream(ctx, DeadLetterStream); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: DeadLetterStream, Description: "ours, with our settings",
		Subjects: []string{DeadLetterPrefix + ">"}, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if err := newDeadLetters("new", 3, nil).ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	if r := replicas(js); r != 1 {
		t.Errorf("an operator's stream: %d replicas, want its own 1", r)
	}

	single := openBus(t, t.TempDir()).JetStream()
	if err := newDeadLetters("old", 1, nil).ensure(ctx, single); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d := newDeadLetters("new", 3, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := d.publish(ctx, single, Record{Subject: "panoptes.metrics.x", Data: []byte("poison")}, "", "test"); err != nil {
		t.Fatalf("publish after a failed scale-up: %v", err)
	}
	if r := replicas(single); r != 1 || !strings.Contains(logs.String(), "cannot scale the dead-letter stream up") {
		t.Errorf("one server: %d replicas, logs %q; want 1 and the warning", r, logs.String())
	}
}
