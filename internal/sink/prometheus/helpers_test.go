package prometheus

import (
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
)

var interfaceCounters = []string{
	"bits_in", "bits_out", "total_packets_in", "total_packets_out",
	"unicast_packets_in", "unicast_packets_out", "multicast_packets_in", "multicast_packets_out",
	"broadcast_packets_in", "broadcast_packets_out", "errors_in", "errors_out", "discards_in", "discards_out",
}

var interfaceGauges = []string{"admin_state", "oper_state", "mtu", "configured_speed"}

func device(site, id string) *resource.Resource {
	return &resource.Resource{
		Site: site, Class: "network", Subclass: "switch", Type: "cisco", ID: id, Endpoint: id + ".example.com",
		Metadata: map[string]string{"_resource_ttl": "604800"}, CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
	}
}

// counterValue is a deterministic counter for port i, metric j at poll n:
// large enough (around 2^47) to catch any float32 or int32 on the way.
func counterValue(i, j, n int) uint64 {
	return 140737488355328 + uint64(i)*1_000_003 + uint64(j)*7919 + uint64(n)*60_000
}

// interfaceGroups is what one interface check of a switch with ports ports
// produces: one realistic interface group per port (14 counters, 4 gauges,
// 5 dimensions) with the timestamp ts; n varies the values between polls.
func interfaceGroups(r *resource.Resource, ports, n int, ts time.Time) []*metric.Group {
	sec := float64(ts.UnixMilli()) / 1000
	groups := make([]*metric.Group, 0, ports)
	for i := 0; i < ports; i++ {
		g := &metric.Group{
			Resource: r, Type: "interface", Interval: 60, CreationTimestamp: sec,
			SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{
				{Name: "interface_name", Value: fmt.Sprintf("GigabitEthernet1/0/%d", i+1)},
				{Name: "alias", Value: fmt.Sprintf(`uplink "%d" to core\rack`, i+1)},
				{Name: "description", Value: fmt.Sprintf("GigabitEthernet1/0/%d", i+1)},
				{Name: "media_type", Value: "ethernetCsmacd"},
				{Name: "port_speed", Value: "1000000000"},
			},
		}
		for j, name := range interfaceCounters {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(counterValue(i, j, n)), Type: metric.Counter, Timestamp: sec})
		}
		g.Metrics = append(g.Metrics,
			metric.Metric{Name: "admin_state", Value: metric.Int(1), Type: metric.Gauge, Timestamp: sec},
			metric.Metric{Name: "oper_state", Value: metric.Int(int64(1 + i%2)), Type: metric.Gauge, Timestamp: sec},
			metric.Metric{Name: "mtu", Value: metric.Int(1500), Type: metric.Gauge, Timestamp: sec},
			metric.Metric{Name: "configured_speed", Value: metric.Uint(1_000_000_000), Type: metric.Gauge, Timestamp: sec},
		)
		groups = append(groups, g)
	}
	return groups
}

func cpuGroup(r *resource.Resource, util float64, ts time.Time) *metric.Group {
	sec := float64(ts.UnixMilli()) / 1000
	return &metric.Group{
		Resource: r, Type: "cpu", Interval: 30, CreationTimestamp: sec, SchemaVersion: metric.SchemaVersion,
		Dimensions: []metric.Dimension{{Name: "cpu_type", Value: "ctrl"}, {Name: "cpu_no", Value: "0"}, {Name: "cpu_name", Value: "Supervisor"}},
		Metrics:    []metric.Metric{{Name: "cpu_utilization", Value: metric.Float(util), Type: metric.Gauge, Timestamp: sec}},
	}
}

func records(groups ...*metric.Group) []sink.Record {
	out := make([]sink.Record, len(groups))
	for i, g := range groups {
		out[i] = sink.Record{Subject: "panoptes.metrics." + g.Resource.Site + "." + g.Type, Data: metric.AppendJSON(nil, g), Group: g}
	}
	return out
}

func newTestExposition(t testing.TB, p Config) *Exposition {
	t.Helper()
	if p.Listen == "" {
		p.Listen = "127.0.0.1:0"
	}
	e, err := NewExposition(&p, sink.Deps{Name: "prom", Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("NewExposition: %v", err)
	}
	return e
}

// fakeClock is a settable now for staleness tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// decodedSeries is one TimeSeries of a WriteRequest, decoded by hand.
type decodedSeries struct {
	labels  [][2]string
	samples []decodedSample
}

type decodedSample struct {
	value float64
	ts    int64
}

func (s decodedSeries) label(name string) string {
	for _, l := range s.labels {
		if l[0] == name {
			return l[1]
		}
	}
	return ""
}

// decodeWriteRequest parses an uncompressed WriteRequest, failing on any
// field this sink does not send.
func decodeWriteRequest(b []byte) ([]decodedSeries, error) {
	var out []decodedSeries
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return fmt.Errorf("WriteRequest: unexpected field %d type %d", num, typ)
		}
		var s decodedSeries
		err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				var l [2]string
				err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
					if (num != 1 && num != 2) || typ != protowire.BytesType {
						return fmt.Errorf("Label: unexpected field %d", num)
					}
					l[num-1] = string(v)
					return nil
				})
				s.labels = append(s.labels, l)
				return err
			case num == 2 && typ == protowire.BytesType:
				var smp decodedSample
				err := eachField(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
					switch {
					case num == 1 && typ == protowire.Fixed64Type:
						smp.value = math.Float64frombits(x)
					case num == 2 && typ == protowire.VarintType:
						smp.ts = int64(x)
					default:
						return fmt.Errorf("Sample: unexpected field %d", num)
					}
					return nil
				})
				s.samples = append(s.samples, smp)
				return err
			}
			return fmt.Errorf("TimeSeries: unexpected field %d", num)
		})
		out = append(out, s)
		return err
	})
	return out, err
}

func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, bytesVal []byte, scalar uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
