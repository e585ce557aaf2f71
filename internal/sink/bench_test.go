package sink

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// fetchedMsg is a fetched bus message without a server behind it, for
// benchmarks and memory measurements of handleMsgs: acks go nowhere. The
// tests that matter for delivery use real embedded servers.
type fetchedMsg struct {
	data    []byte
	md      jetstream.MsgMetadata
	headers nats.Header
}

func (m *fetchedMsg) Metadata() (*jetstream.MsgMetadata, error) { return &m.md, nil }
func (m *fetchedMsg) Data() []byte                              { return m.data }
func (m *fetchedMsg) Headers() nats.Header                      { return m.headers }
func (m *fetchedMsg) Subject() string                           { return "panoptes.metrics.site1.interface" }
func (m *fetchedMsg) Reply() string                             { return "" }
func (m *fetchedMsg) Ack() error                                { return nil }
func (m *fetchedMsg) DoubleAck(context.Context) error           { return nil }
func (m *fetchedMsg) Nak() error                                { return nil }
func (m *fetchedMsg) NakWithDelay(time.Duration) error          { return nil }
func (m *fetchedMsg) InProgress() error                         { return nil }
func (m *fetchedMsg) Term() error                               { return nil }
func (m *fetchedMsg) TermWithReason(string) error               { return nil }

// interfaceGroup is a realistic interface group: a resource with metadata,
// four dimensions, twenty counters and gauges (~1.7 KB of JSON).
func interfaceGroup(port int) *metric.Group {
	r := &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco", ID: "switch48-00042",
		Endpoint: "10.0.0.42", Plugin: "discovery_csv", CreationTimestamp: 1700000000.25,
		Metadata: map[string]string{"_resource_ttl": "604800", "snmp_port": "30042"}}
	g := &metric.Group{Resource: r, Type: "interface", Interval: 60, CreationTimestamp: 1700000060.5, SchemaVersion: metric.SchemaVersion,
		Dimensions: []metric.Dimension{{Name: "interface_name", Value: fmt.Sprintf("Ethernet1/%d", port)},
			{Name: "alias", Value: "uplink to core"}, {Name: "media_type", Value: "ethernetCsmacd"}, {Name: "seq", Value: fmt.Sprint(port)}}}
	names := []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out",
		"unicast_packets_in", "unicast_packets_out", "multicast_packets_in", "multicast_packets_out", "broadcast_packets_in",
		"broadcast_packets_out", "unknown_protos", "oper_state", "admin_state", "speed", "mtu", "last_change"}
	for i, n := range names {
		m := metric.Metric{Name: n, Value: metric.Uint(1<<62 + uint64(port*1000+i)*1234567), Type: metric.Counter, Timestamp: 1700000060.501}
		if i >= 15 {
			m.Type, m.Value = metric.Gauge, metric.Uint(uint64(i))
		}
		g.Metrics = append(g.Metrics, m)
	}
	return g
}

// checkMessage is what one interface check of a 48-port switch publishes:
// its groups as JSON lines, S2-compressed as the bus does by default.
func checkMessage(groups, first int) []byte {
	var raw []byte
	for i := range groups {
		raw = append(metric.AppendJSON(raw, interfaceGroup(first+i)), '\n')
	}
	return s2frame.Append(nil, raw)
}

// fetchedBatch is msgs messages of groups groups each.
func fetchedBatch(msgs, groups int) []jetstream.Msg {
	out := make([]jetstream.Msg, msgs)
	for i := range out {
		m := &fetchedMsg{data: checkMessage(groups, i*groups)}
		m.md.Sequence.Stream = uint64(i + 1)
		m.md.Timestamp = time.Now()
		out[i] = m
	}
	return out
}

// discardSink stores nothing; it measures the consumer's own cost.
type discardSink struct{}

func (discardSink) Write(context.Context, []Record) error { return nil }

// rawDiscard pulls every record and stores nothing: the consumer's own
// cost on the streamed path.
type rawDiscard struct{ discardSink }

func (rawDiscard) WriteRaw(_ context.Context, records iter.Seq[Record]) error {
	for range records {
	}
	return nil
}

// decodedOnly hides every optional ability of a sink: the consumer gives it
// decoded batches (how the file sink was fed before it streamed).
type decodedOnly struct{ Sink }

// BenchmarkHandleMsgs settles fetched batches of 100 messages of 56
// interface groups (one 48-port switch check each, ~5,600 groups, ~9 MB of
// JSON): the consumer's cost per group for each kind of sink. file is the
// file sink as it is (streamed, validated); file-decoded the same sink fed
// as before (decoded batch).
func BenchmarkHandleMsgs(b *testing.B) {
	const msgs, groups = 100, 56
	batch := fetchedBatch(msgs, groups)
	compressed, plain := 0, 0
	for _, m := range batch {
		compressed += len(m.Data())
		p, _ := s2frame.Decode(nil, m.Data())
		plain += len(p)
	}
	b.Logf("batch: %d messages, %d groups, %d KB compressed, %d KB of JSON", msgs, msgs*groups, compressed>>10, plain>>10)
	vouched := fetchedBatch(msgs, groups)
	for _, m := range vouched {
		m.(*fetchedMsg).headers = nats.Header{wire.ValidHeader: {wire.ValidValue}}
	}
	for _, tc := range []struct {
		name    string
		sink    func(f Sink) Sink
		vouched bool
	}{
		{"discard", func(Sink) Sink { return discardSink{} }, false},
		{"discard-raw", func(Sink) Sink { return rawDiscard{} }, false},
		{"file", func(f Sink) Sink { return f }, false},
		{"file-vouched", func(f Sink) Sink { return f }, true},
		{"file-decoded", func(f Sink) Sink { return decodedOnly{f} }, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := New(config.Sink{Name: "bench", Type: "test_file", Options: plugin.BlockOf(fileConfig{Path: filepath.Join(b.TempDir(), "out.jsonl"), MaxSize: 1 << 30})}, Deps{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.close(nil)
			c.sink = tc.sink(c.sink)
			bo := c.newBackoff()
			b.SetBytes(int64(plain))
			b.ReportAllocs()
			runtime.GC()
			cpu0 := processCPU()
			in := batch
			if tc.vouched {
				in = vouched
			}
			for b.Loop() {
				c.handleMsgs(context.Background(), nil, wire.MetricsStream, in, &bo)
			}
			// CPU time (with the GC's, on any core) is what the node pays,
			// and a shared machine disturbs it less than the wall clock.
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*msgs*groups), "ns/group")
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*msgs*groups), "cpu-ns/group")
		})
	}
}

// processCPU is the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
