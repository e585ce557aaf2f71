package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// openEmbedded starts an in-process bus in dir and closes it with the test.
func openEmbedded(t testing.TB, dir string) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 256 << 20, Name: t.Name()})
	if err != nil {
		t.Fatalf("open embedded bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func testResource(site, id string) *resource.Resource {
	return &resource.Resource{
		Site: site, Class: "network", Subclass: "switch", Type: "cisco",
		ID: id, Endpoint: id, Metadata: map[string]string{"_resource_ttl": "604800"},
		CreationTimestamp: 1535496674.53, Plugin: "discovery_csv",
	}
}

// interfaceSet is what one interface check of a 48-port switch produces:
// 48 interface groups and the status group.
func interfaceSet(r *resource.Resource, ports int) *metric.GroupSet {
	set := &metric.GroupSet{}
	now := 1535497112.075
	for i := 0; i < ports; i++ {
		g := &metric.Group{
			Resource: r, Type: "interface", Interval: 60, CreationTimestamp: now,
			SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{
				{Name: "interface_name", Value: fmt.Sprintf("Ethernet1/%d", i+1)},
				{Name: "media_type", Value: "ethernetCsmacd"},
			},
		}
		for _, name := range []string{"bits_in", "bits_out", "packets_in", "packets_out", "errors_in", "errors_out", "discards_in", "discards_out"} {
			g.Metrics = append(g.Metrics, metric.Metric{Name: name, Value: metric.Uint(29771896789864 + uint64(i)), Type: metric.Counter, Timestamp: now})
		}
		g.Metrics = append(g.Metrics, metric.Metric{Name: "oper_state", Value: metric.Int(1), Type: metric.Gauge, Timestamp: now})
		set.Groups = append(set.Groups, g)
	}
	set.Groups = append(set.Groups, &metric.Group{
		Resource: r, Type: "status", Interval: 60, CreationTimestamp: now, SchemaVersion: metric.SchemaVersion,
		Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(metric.StatusSuccess), Type: metric.Gauge, Timestamp: now}},
	})
	return set
}

// waitStreamMsgs waits up to 20s for stream to hold want messages.
func waitStreamMsgs(t testing.TB, b *bus.Bus, stream string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got uint64
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := b.JetStream().Stream(ctx, stream)
		cancel()
		if err == nil {
			if got = s.CachedInfo().State.Msgs; got == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s holds %d messages after 20s, want %d", stream, got, want)
}
