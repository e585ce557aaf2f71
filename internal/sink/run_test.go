package sink

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/panoptes-go/panoptes/internal/wire"
)

func openBus(t *testing.T, dir string) *bus.Bus {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: dir, MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// publish sends groups numbered from..to-1 (dimension "seq"), one set (and
// so one bus message) per group, so tests can count groups in messages.
// TestBatchedMessages covers messages holding several groups.
func publish(t *testing.T, b *bus.Bus, from, to int) {
	t.Helper()
	if err := publishGroups(b, from, to); err != nil {
		t.Fatal(err)
	}
}

func publishGroups(b *bus.Bus, from, to int) error {
	return publishSets(b, from, to, 1)
}

// publishSets publishes groups from..to-1 in sets of size groups.
func publishSets(b *bus.Bus, from, to, size int) error {
	r := &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "sw1"}
	for i := from; i < to; i += size {
		set := &metric.GroupSet{}
		for j := i; j < min(i+size, to); j++ {
			set.Groups = append(set.Groups, &metric.Group{
				Resource: r, Type: "interface", Interval: 60, CreationTimestamp: 1, SchemaVersion: metric.SchemaVersion,
				Dimensions: []metric.Dimension{{Name: "seq", Value: fmt.Sprint(j)}},
				Metrics:    []metric.Metric{{Name: "bits_in", Value: metric.Uint(1<<62 + uint64(j)), Type: metric.Counter, Timestamp: 1}},
			})
		}
		if n, err := b.PublishSet(context.Background(), set); err != nil || n != len(set.Groups) {
			return fmt.Errorf("PublishSet = %d, %v", n, err)
		}
	}
	return nil
}

// fastConsumer is a consumer (a file sink unless cfg.Type says otherwise)
// with test-sized batches and backoff.
func fastConsumer(t *testing.T, cfg config.Sink, reg prometheus.Registerer) *Consumer {
	t.Helper()
	if cfg.Type == "" {
		cfg.Type = "test_file"
	}
	c, err := New(cfg, Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	c.pace.MaxWait = 100 * time.Millisecond
	c.pace.BackoffMin, c.pace.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	return c
}

// running runs f until the returned stop is called; stop waits for Run.
func running(t *testing.T, f *Consumer, js jetstream.JetStream) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.Run(ctx, js); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// seqs decodes every line of the files and returns how often each seq occurs.
func seqs(t *testing.T, paths ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		// Only complete lines: the sink may be writing the last one
		// (it streams a batch through a buffered writer).
		if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
			b = b[:i+1]
		} else {
			b = nil
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line == "" {
				continue
			}
			g, err := metric.Decode([]byte(line))
			if err != nil {
				t.Fatalf("%s: line does not decode: %v: %s", p, err, line)
			}
			if m, _ := g.Metric("bits_in"); m.Value.Uint64() < 1<<62 {
				t.Fatalf("counter lost precision: %v", m.Value)
			}
			out[g.Dimension("seq")]++
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ackFloor is the last stream sequence the sink acked (0 before it exists).
func ackFloor(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	c, err := js.Consumer(context.Background(), wire.MetricsStream, DurableName(name))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.AckFloor.Stream
}

func consumerInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(context.Background(), wire.MetricsStream, DurableName(name))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestFileSinkWritesEveryGroup(t *testing.T) {
	b := openBus(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	reg := prometheus.NewRegistry()
	f := fastConsumer(t, config.Sink{Name: "file", Options: fileBlock(path)}, reg)
	publish(t, b, 0, 300)
	stop := running(t, f, b.JetStream())
	publish(t, b, 300, 500) // some arrive while it runs

	eventually(t, "500 lines", func() bool { return len(seqs(t, path)) == 500 })
	stop()
	got := seqs(t, path)
	for i := 0; i < 500; i++ {
		if got[fmt.Sprint(i)] != 1 {
			t.Fatalf("seq %d written %d times, want once", i, got[fmt.Sprint(i)])
		}
	}
	info := consumerInfo(t, b.JetStream(), "file")
	if info.NumPending != 0 || info.NumAckPending != 0 || info.AckFloor.Stream != 500 {
		t.Errorf("consumer: pending %d, ack pending %d, ack floor %d; want 0, 0, 500",
			info.NumPending, info.NumAckPending, info.AckFloor.Stream)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 500 {
		t.Errorf("messages_written_total = %v, want 500", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_consumer_pending"); v != 0 {
		t.Errorf("consumer_pending = %v after catching up, want 0", v)
	}
}

func TestFileSinkSubjectFilter(t *testing.T) {
	b := openBus(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "status.jsonl")
	f := fastConsumer(t, config.Sink{Name: "status only", Options: fileBlock(path), Subjects: []string{"panoptes.metrics.*.status"}}, nil)
	publish(t, b, 0, 20) // interface groups: filtered out
	r := &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "sw1"}
	status := &metric.GroupSet{Groups: []*metric.Group{{Resource: r, Type: "status", Interval: 60, SchemaVersion: metric.SchemaVersion,
		Dimensions: []metric.Dimension{{Name: "seq", Value: "status"}},
		Metrics:    []metric.Metric{{Name: "bits_in", Value: metric.Uint(1 << 62), Type: metric.Gauge}}}}}
	if _, err := b.PublishSet(context.Background(), status); err != nil {
		t.Fatal(err)
	}
	stop := running(t, f, b.JetStream())
	eventually(t, "the status line", func() bool { return len(seqs(t, path)) == 1 })
	stop()
	if got := seqs(t, path); got["status"] != 1 || len(got) != 1 {
		t.Errorf("filtered sink wrote %v, want only the status group", got)
	}
}

func TestFileSinkRotation(t *testing.T) {
	b := openBus(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	f := fastConsumer(t, config.Sink{Name: "rot", Options: plugin.BlockOf(fileConfig{Path: path, MaxSize: 4 << 10, MaxFiles: 2})}, nil)
	publish(t, b, 0, 200) // ~400 bytes each: many rotations
	stop := running(t, f, b.JetStream())
	eventually(t, "everything acked", func() bool { return ackFloor(t, b.JetStream(), "rot") == 200 })
	stop()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if st.Size() > 4<<10 {
			t.Errorf("%s is %d bytes, over max_size 4096", p, st.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists; max_files 2 keeps .1 and .2", path)
	}
	// The kept files hold the newest messages, each once: seqs 200-k..199.
	got := seqs(t, path, path+".1", path+".2")
	if len(got) < 10 {
		t.Fatalf("kept files hold only %d messages", len(got))
	}
	for i := 200 - len(got); i < 200; i++ {
		if got[fmt.Sprint(i)] != 1 {
			t.Errorf("seq %d is in the kept files %d times, want once", i, got[fmt.Sprint(i)])
		}
	}
}

// TestFileSinkRestartLosesNothing cancels the sink mid-stream, restarts the
// embedded server on the same data dir and a new sink on the same file:
// every message is in the file at least once.
func TestFileSinkRestartLosesNothing(t *testing.T) {
	dataDir := t.TempDir()
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	const total = 2000

	b := openBus(t, dataDir)
	f := fastConsumer(t, config.Sink{Name: "file", Options: fileBlock(path)}, nil)
	f.pace.Batch = 50
	stop := running(t, f, b.JetStream())
	publish(t, b, 0, total/2)
	eventually(t, "the sink to start writing", func() bool { return len(seqs(t, path)) > 0 })
	published := make(chan error, 1)
	go func() { published <- publishGroups(b, total/2, total) }() // the stream keeps coming while the sink stops
	stop()
	if n := len(seqs(t, path)); n >= total {
		t.Fatalf("sink wrote all %d messages before it was cancelled; the test needs it stopped mid-stream", n)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := openBus(t, dataDir)
	f2 := fastConsumer(t, config.Sink{Name: "file", Options: fileBlock(path)}, nil)
	running(t, f2, b2.JetStream())
	eventually(t, "every message in the file", func() bool { return len(seqs(t, path)) == total })
	eventually(t, "everything acked", func() bool {
		return ackFloor(t, b2.JetStream(), "file") == total
	})
	got := seqs(t, path)
	dups := 0
	for i := 0; i < total; i++ {
		switch n := got[fmt.Sprint(i)]; {
		case n == 0:
			t.Fatalf("seq %d lost", i)
		case n > 1:
			dups++
		}
	}
	t.Logf("%d distinct messages, %d written more than once", len(got), dups)
}

// TestFileSinkWriteErrorAcksNothing points the sink below a regular file:
// nothing is acked while writes fail, and everything arrives once fixed.
func TestFileSinkWriteErrorAcksNothing(t *testing.T) {
	b := openBus(t, t.TempDir())
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "metrics.jsonl")
	reg := prometheus.NewRegistry()
	f := fastConsumer(t, config.Sink{Name: "broken", Options: fileBlock(path)}, reg)
	publish(t, b, 0, 20)
	stop := running(t, f, b.JetStream())

	eventually(t, "repeated write errors", func() bool {
		return gaugeValue(t, reg, "panoptes_sink_write_errors_total") >= 3
	})
	info := consumerInfo(t, b.JetStream(), "broken")
	if info.AckFloor.Stream != 0 || info.NumPending+uint64(info.NumAckPending) != 20 {
		t.Fatalf("while failing: ack floor %d, pending %d + ack pending %d; want 0 acked and 20 pending",
			info.AckFloor.Stream, info.NumPending, info.NumAckPending)
	}

	// Stopped while failing, the sink hands its batch back: a new one gets
	// everything at once, not after the ack wait.
	stop()
	if err := os.Remove(blocker); err != nil { // the sink creates the directory itself
		t.Fatal(err)
	}
	running(t, fastConsumer(t, config.Sink{Name: "broken", Options: fileBlock(path)}, nil), b.JetStream())
	eventually(t, "all 20 lines after the fix", func() bool { return len(seqs(t, path)) == 20 })
	eventually(t, "everything acked", func() bool {
		return ackFloor(t, b.JetStream(), "broken") == 20
	})
}

// TestFileSinkDirectoryBrokenAfterStart breaks the directory while the sink
// runs: what was written stays acked, new messages wait until it is fixed.
func TestFileSinkDirectoryBrokenAfterStart(t *testing.T) {
	b := openBus(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "logs")
	path := filepath.Join(dir, "metrics.jsonl")
	reg := prometheus.NewRegistry()
	f := fastConsumer(t, config.Sink{Name: "late", Options: fileBlock(path)}, reg)
	running(t, f, b.JetStream())
	publish(t, b, 0, 10)
	eventually(t, "the first 10 acked", func() bool {
		return ackFloor(t, b.JetStream(), "late") == 10
	})

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil { // the directory is now a file
		t.Fatal(err)
	}
	publish(t, b, 10, 20)
	eventually(t, "write errors", func() bool {
		return gaugeValue(t, reg, "panoptes_sink_write_errors_total") >= 2
	})
	if info := consumerInfo(t, b.JetStream(), "late"); info.AckFloor.Stream != 10 {
		t.Fatalf("ack floor %d while the directory is broken, want 10", info.AckFloor.Stream)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the 10 new lines", func() bool { return len(seqs(t, path)) == 10 })
	got := seqs(t, path)
	for i := 10; i < 20; i++ {
		if got[fmt.Sprint(i)] != 1 {
			t.Errorf("seq %d written %d times after the fix, want once", i, got[fmt.Sprint(i)])
		}
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == name {
			m := fam.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestFileSinkRejectedConsumer: a configuration the server refuses is an
// error from Run, not an endless retry.
func TestFileSinkRejectedConsumer(t *testing.T) {
	b := openBus(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := b.JetStream().CreateOrUpdateConsumer(ctx, wire.MetricsStream, jetstream.ConsumerConfig{
		Durable: DurableName("clash"), AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := fastConsumer(t, config.Sink{Name: "clash", Options: fileBlock(filepath.Join(t.TempDir(), "x.jsonl"))}, nil)
	err = f.Run(ctx, b.JetStream())
	if err == nil || !strings.Contains(err.Error(), "sink clash: consumer sink_clash") {
		t.Errorf("Run = %v, want the server's refusal naming the sink and consumer", err)
	}
	if ctx.Err() != nil {
		t.Error("Run kept retrying a refused configuration")
	}
}

func TestFileSinkRunCancelled(t *testing.T) {
	b := openBus(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "x.jsonl")
	f := fastConsumer(t, config.Sink{Name: "c", Options: fileBlock(path)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Run(ctx, b.JetStream()); err != nil {
		t.Errorf("Run with a done ctx = %v, want nil", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Run with a done ctx created the file: %v", err)
	}
}
