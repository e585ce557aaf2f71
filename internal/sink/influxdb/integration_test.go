package influxdb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/file"
	"github.com/panoptes-go/panoptes/internal/sink/influxdb"
	"github.com/panoptes-go/panoptes/internal/testutil/influx"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/wire"
)

const db = "panoptes"

// stack is a bus, a real InfluxDB with database db, and a registry.
type stack struct {
	bus    *bus.Bus
	influx *influx.Server
	reg    *prometheus.Registry
}

func newStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("starts InfluxDB and an embedded NATS server")
	}
	srv := influx.Start(t)
	srv.CreateDatabase(db)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &stack{bus: b, influx: srv, reg: prometheus.NewRegistry()}
}

// run builds and runs the consumer of cfg until the test ends.
func (s *stack) run(t *testing.T, cfg config.Sink, logger *slog.Logger) *sink.Consumer {
	t.Helper()
	if cfg.BatchTimeout == 0 {
		cfg.BatchTimeout = config.Duration(100 * time.Millisecond)
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = config.Duration(200 * time.Millisecond)
	}
	c, err := sink.New(cfg, sink.Deps{Logger: logger, Registerer: s.reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx, s.bus.JetStream()); err != nil {
			t.Errorf("sink %s: Run: %v", cfg.Name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func (s *stack) influxSink(name string, mod ...func(*influxdb.Config)) config.Sink {
	c := influxdb.Config{URL: s.influx.URL, Database: db}
	for _, m := range mod {
		m(&c)
	}
	return config.Sink{Name: name, Type: "influxdb", BatchSize: 50, Options: plugin.BlockOf(map[string]any{"influxdb": c})}
}

// group is test group seq: a counter above 2^53 (exact only as an integer),
// a float gauge and a distinct millisecond timestamp.
func group(seq int) *metric.Group {
	return &metric.Group{
		Resource: &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "sw1.example.com"},
		Type:     "interface", Interval: 60, SchemaVersion: metric.SchemaVersion,
		CreationTimestamp: 1700000000 + float64(seq)*0.25,
		Dimensions:        []metric.Dimension{{Name: "seq", Value: fmt.Sprint(seq)}, {Name: "interface_name", Value: "Ethernet1/1, uplink"}},
		Metrics: []metric.Metric{
			{Name: "bits_in", Value: metric.Uint(1<<60 + uint64(seq)), Type: metric.Counter},
			{Name: "utilization", Value: metric.Float(float64(seq) / 8), Type: metric.Gauge},
		},
	}
}

func (s *stack) publish(t testing.TB, from, to int) {
	t.Helper()
	if err := s.publishErr(from, to); err != nil {
		t.Fatal(err)
	}
}

// publishErr publishes groups from..to-1, one set (one bus message) each,
// so that ack floors count groups.
func (s *stack) publishErr(from, to int) error {
	for i := from; i < to; i++ {
		set := &metric.GroupSet{Groups: []*metric.Group{group(i)}}
		if n, err := s.bus.PublishSet(context.Background(), set); err != nil || n != 1 {
			return fmt.Errorf("PublishSet = %d, %v", n, err)
		}
	}
	return nil
}

// point is what one group became.
type point struct {
	time    int64
	bitsIn  string // exact integer text
	utilize string
}

// influxPoints reads every interface point, by seq.
func (s *stack) influxPoints(t *testing.T) map[string]point {
	t.Helper()
	out := map[string]point{}
	for _, series := range s.influx.Query(db, `SELECT "time", "seq", "bits_in", "utilization", "interface_name", "resource_endpoint" FROM "interface"`) {
		for _, row := range series.Values {
			ms, _ := row[0].(json.Number).Int64()
			if row[4] != "Ethernet1/1, uplink" || row[5] != "sw1.example.com" {
				t.Fatalf("tags read back as %v", row)
			}
			out[row[1].(string)] = point{ms, row[2].(json.Number).String(), row[3].(json.Number).String()}
		}
	}
	return out
}

func (s *stack) influxCount(t *testing.T) int {
	t.Helper()
	series := s.influx.Query(db, `SELECT count("bits_in") FROM "interface"`)
	if len(series) == 0 {
		return 0
	}
	n, _ := series[0].Values[0][1].(json.Number).Int64()
	return int(n)
}

// filePoints reads the JSON lines file the same way.
func filePoints(t *testing.T, path string) map[string]point {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	out := map[string]point{}
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		g, err := metric.Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		bi, _ := g.Metric("bits_in")
		ut, _ := g.Metric("utilization")
		out[g.Dimension("seq")] = point{int64(g.CreationTimestamp*1000 + 0.5), bi.Value.String(), ut.Value.String()}
	}
	return out
}

func ackFloor(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	c, err := js.Consumer(context.Background(), wire.MetricsStream, sink.DurableName(name))
	if err != nil {
		return 0
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.AckFloor.Stream
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInfluxMatchesFile runs an InfluxDB sink and a file sink on one bus:
// InfluxDB holds exactly the points of the JSON lines file, values exact.
func TestInfluxMatchesFile(t *testing.T) {
	s := newStack(t)
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	const n = 400
	s.publish(t, 0, n/2)
	s.run(t, s.influxSink("influx"), nil)
	s.run(t, config.Sink{Name: "file", Type: "file", Options: plugin.BlockOf(file.Config{Path: path})}, nil)
	s.publish(t, n/2, n)
	eventually(t, "both sinks acked everything", 20*time.Second, func() bool {
		return ackFloor(t, s.bus.JetStream(), "influx") == n && ackFloor(t, s.bus.JetStream(), "file") == n
	})

	inInflux, inFile := s.influxPoints(t), filePoints(t, path)
	if len(inInflux) != n || len(inFile) != n {
		t.Fatalf("InfluxDB has %d points, the file %d; want %d each", len(inInflux), len(inFile), n)
	}
	for seq, want := range inFile {
		if got := inInflux[seq]; got != want {
			t.Errorf("seq %s: InfluxDB %+v, file %+v", seq, got, want)
		}
	}
	if got := inInflux["7"]; got.bitsIn != "1152921504606846983" || got.time != 1700000001750 {
		t.Errorf("seq 7 = %+v, want bits_in 2^60+7 exactly at 1700000001750 ms", got)
	}
}

// TestInfluxOutageLosesNothing kills InfluxDB while metrics keep coming:
// the file sink goes on, and once InfluxDB is back every point is in it.
func TestInfluxOutageLosesNothing(t *testing.T) {
	s := newStack(t)
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	s.run(t, s.influxSink("influx"), nil)
	s.run(t, config.Sink{Name: "file", Type: "file", Options: plugin.BlockOf(file.Config{Path: path})}, nil)

	var mu sync.Mutex
	published := 0
	stopPub, pubDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPub:
				return
			case <-tick.C:
			}
			mu.Lock()
			err := s.publishErr(published, published+10)
			if err == nil {
				published += 10
			}
			mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() {
		select {
		case <-stopPub:
		default:
			close(stopPub)
		}
		<-pubDone
	}()

	eventually(t, "points in InfluxDB", 20*time.Second, func() bool { return s.influxCount(t) >= 50 })
	s.influx.Kill()
	inFile := len(filePoints(t, path))
	time.Sleep(1500 * time.Millisecond)
	if grown := len(filePoints(t, path)) - inFile; grown < 100 {
		t.Errorf("the file sink wrote %d groups during the InfluxDB outage; it must not pause", grown)
	}
	if v := counter(t, s.reg, "panoptes_sink_write_errors_total", "influx"); v < 2 {
		t.Errorf("write_errors_total{sink=influx} = %v during the outage", v)
	}
	s.influx.Restart()
	time.Sleep(300 * time.Millisecond)
	close(stopPub)
	<-pubDone

	mu.Lock()
	total := published
	mu.Unlock()
	eventually(t, "every point in InfluxDB", 30*time.Second, func() bool { return s.influxCount(t) == total })
	points := s.influxPoints(t)
	for i := 0; i < total; i++ {
		if _, ok := points[fmt.Sprint(i)]; !ok {
			t.Fatalf("seq %d lost", i)
		}
	}
	eventually(t, "the file complete", 10*time.Second, func() bool { return len(filePoints(t, path)) == total })
	if v := counter(t, s.reg, "panoptes_sink_messages_retried_total", "influx"); v == 0 {
		t.Error("messages_retried_total{sink=influx} = 0 after an outage")
	}
	t.Logf("%d groups published, all in InfluxDB and the file", total)
}

// TestInfluxPoisonIsDeadLettered: garbage on the bus and a point InfluxDB
// refuses (a field type conflict) are set aside with their reasons; every
// other point is stored and the stream moves on.
func TestInfluxPoisonIsDeadLettered(t *testing.T) {
	s := newStack(t)
	s.publish(t, 0, 5)
	if _, err := s.bus.JetStream().Publish(context.Background(), wire.MetricsSubject("site1", "interface"), []byte("garbage{")); err != nil {
		t.Fatal(err)
	}
	conflict := group(5)
	conflict.Metrics[0].Value = metric.Float(1.5) // a float where InfluxDB holds integers
	if _, err := s.bus.PublishSet(context.Background(), &metric.GroupSet{Groups: []*metric.Group{conflict}}); err != nil {
		t.Fatal(err)
	}
	s.publish(t, 6, 12)
	s.run(t, s.influxSink("influx"), nil)

	eventually(t, "everything acked", 20*time.Second, func() bool { return ackFloor(t, s.bus.JetStream(), "influx") == 13 })
	if n := s.influxCount(t); n != 11 {
		t.Errorf("InfluxDB holds %d points, want the 11 valid ones", n)
	}
	if _, ok := s.influxPoints(t)["5"]; ok {
		t.Error("the conflicting point was stored")
	}
	stream, err := s.bus.JetStream().Stream(context.Background(), sink.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, m.Header.Get(sink.HeaderReason))
	}
	if !strings.HasPrefix(reasons[0], "decode: ") || !strings.Contains(reasons[1], "rejected: InfluxDB refused the point: HTTP 400") ||
		!strings.Contains(reasons[1], "field type conflict") {
		t.Errorf("dead-letter reasons %q", reasons)
	}
}

// TestInfluxSecretsNotLogged: with InfluxDB refusing the credentials, the
// sink retries and logs the failure without the password.
func TestInfluxSecretsNotLogged(t *testing.T) {
	s := newStack(t)
	var logs logbuf.Buffer
	logger := logs.Logger(slog.LevelDebug)
	cfg := s.influxSink("influx", func(c *influxdb.Config) {
		c.URL = "http://127.0.0.1:1" // nothing listens: connection refused
		c.Username, c.Password = "writer", "pa55-Secret-x"
	})
	s.publish(t, 0, 3)
	s.run(t, cfg, logger)
	eventually(t, "failed writes", 10*time.Second, func() bool {
		return counter(t, s.reg, "panoptes_sink_write_errors_total", "influx") >= 2
	})
	out := logs.String()
	if !strings.Contains(out, "write failed") || strings.Contains(out, "pa55-Secret-x") ||
		strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("writer:pa55-Secret-x"))) {
		t.Errorf("logs show the failure without the password? %s", out)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, sinkName string) float64 {
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
				if lp.GetName() == "sink" && lp.GetValue() == sinkName {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestInfluxCreatesMissingDatabase: a v1 database that does not exist yet is
// created (as Panoptes' consumer did), and the points follow.
func TestInfluxCreatesMissingDatabase(t *testing.T) {
	s := newStack(t)
	cfg := s.influxSink("fresh", func(c *influxdb.Config) { c.Database = "fresh_db" })
	s.publish(t, 0, 3)
	s.run(t, cfg, nil)
	eventually(t, "points in the new database", 10*time.Second, func() bool {
		series, err := s.influx.TryQuery("fresh_db", `SELECT count("bits_in") FROM "interface"`)
		return err == nil && len(series) == 1 && series[0].Values[0][1] == json.Number("3")
	})
}
