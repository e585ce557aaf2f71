package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

// TestBackoff: the consumer's backoff doubles from the configured minimum
// to the maximum (unjittered here; internal/backoff tests the jitter), and
// by default it is jittered.
func TestBackoff(t *testing.T) {
	c := &Consumer{pace: pacing{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second, Jitter: backoff.None}}
	b := c.newBackoff()
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, b.Next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff sequence %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != 100*time.Millisecond {
		t.Errorf("after reset next = %v, want 100ms", d)
	}
	def, err := New(config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x")}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if def.pace.Jitter != backoff.Equal {
		t.Errorf("default jitter %v, want Equal", def.pace.Jitter)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("sink x: %w", &jetstream.APIError{Code: 500, ErrorCode: 10012}), true}, // deliver policy can not be updated
		{&jetstream.APIError{Code: 400, ErrorCode: 10093}, true},
		{&jetstream.APIError{Code: 404, ErrorCode: jetstream.JSErrCodeStreamNotFound}, false},
		{&jetstream.APIError{Code: 503, ErrorCode: 10008}, false},
		{errors.New("timeout"), false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("refused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// testConsumer builds a consumer of the test_record sink.
func testConsumer(t *testing.T, cfg config.Sink, reg prometheus.Registerer) (*Consumer, *recordSink) {
	t.Helper()
	cfg.Type = "test_record"
	c := fastConsumer(t, cfg, reg)
	return c, c.Sink().(*recordSink)
}

// TestBatchByCountAndTime: full batches go at once; the partial rest is
// written when the batch timeout fires, without waiting for more messages.
func TestBatchByCountAndTime(t *testing.T) {
	b := openBus(t, t.TempDir())
	c, s := testConsumer(t, config.Sink{Name: "batches", BatchSize: 5}, nil)
	c.pace.MaxWait = 3 * time.Second // well above the setup's time on a loaded machine
	publish(t, b, 0, 12)
	start := time.Now()
	running(t, c, b.JetStream())

	eventually(t, "two full batches", func() bool { return s.records() >= 10 })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("full batches took %v; they should not wait for the batch timeout", d)
	}
	eventually(t, "the partial batch", func() bool { return s.records() == 12 })
	d := time.Since(start)
	batches, _ := s.snapshot()
	if len(batches) != 3 || len(batches[0]) != 5 || len(batches[1]) != 5 || len(batches[2]) != 2 {
		t.Fatalf("batches %v, want 5, 5, 2", batches)
	}
	t.Logf("partial batch after %v", d)
	if d < 2900*time.Millisecond || d > 6*time.Second {
		t.Errorf("partial batch written after %v, want about the 3s batch timeout", d)
	}
}

// TestBackoffGrowsAndCaps: a failing store is retried after 50, 100, 200,
// 200... ms (without jitter, to measure them), nothing is acked meanwhile,
// and the batch is written once it recovers.
func TestBackoffGrowsAndCaps(t *testing.T) {
	b := openBus(t, t.TempDir())
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "flaky"}, reg)
	c.pace.BackoffMin, c.pace.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	c.pace.Jitter = backoff.None
	s.failFirst = 6
	publish(t, b, 0, 10)
	running(t, c, b.JetStream())
	eventually(t, "the write after recovery", func() bool { return s.records() == 10 })
	eventually(t, "everything acked", func() bool { return ackFloor(t, b.JetStream(), "flaky") == 10 })

	_, attempts := s.snapshot()
	if len(attempts) != 7 {
		t.Fatalf("%d attempts, want 6 failures and 1 success", len(attempts))
	}
	want := []time.Duration{50, 100, 200, 200, 200, 200}
	for i, w := range want {
		gap := attempts[i+1].Sub(attempts[i])
		w *= time.Millisecond
		if gap < w*9/10 || gap > w+300*time.Millisecond {
			t.Errorf("gap before attempt %d = %v, want about %v (gaps should double up to the 200ms cap)", i+2, gap, w)
		}
	}
	if v := gaugeValue(t, reg, "panoptes_sink_write_errors_total"); v != 6 {
		t.Errorf("write_errors_total = %v, want 6", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_retried_total"); v != 60 {
		t.Errorf("messages_retried_total = %v, want 60 (6 failed batches of 10)", v)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_messages_written_total"); v != 10 {
		t.Errorf("messages_written_total = %v, want 10", v)
	}
}

// TestBackoffJittered: with the default (equal) jitter, each wait after a
// failed write lies between half its ceiling and the ceiling (50, 100,
// 200, 200 ms), so sinks that failed together spread their retries.
func TestBackoffJittered(t *testing.T) {
	b := openBus(t, t.TempDir())
	c, s := testConsumer(t, config.Sink{Name: "jittered"}, nil)
	c.pace.BackoffMin, c.pace.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	s.failFirst = 4
	publish(t, b, 0, 10)
	running(t, c, b.JetStream())
	eventually(t, "the write after recovery", func() bool { return s.records() == 10 })
	_, attempts := s.snapshot()
	if len(attempts) != 5 {
		t.Fatalf("%d attempts, want 4 failures and 1 success", len(attempts))
	}
	for i, w := range []time.Duration{50, 100, 200, 200} {
		gap := attempts[i+1].Sub(attempts[i])
		w *= time.Millisecond
		// The lower bound is the jitter's; above, the refetch and a loaded
		// machine add their share.
		if gap < w/2*9/10 || gap > w+time.Second {
			t.Errorf("gap before attempt %d = %v, want within [%v, %v] (plus the refetch)", i+2, gap, w/2, w)
		}
	}
}

// TestServeAndClose: a sink's Serve runs while it consumes and Close is
// called once after; a Serve that fails stops Run with its error.
func TestServeAndClose(t *testing.T) {
	b := openBus(t, t.TempDir())
	c, s := testConsumer(t, config.Sink{Name: "svc"}, nil)
	stop := running(t, c, b.JetStream())
	publish(t, b, 0, 3)
	eventually(t, "the batch", func() bool { return s.records() == 3 })
	stop()
	s.mu.Lock()
	served, closed := s.served, s.closed
	s.mu.Unlock()
	if served != 1 || closed != 1 {
		t.Errorf("Serve called %d times, Close %d times; want 1 and 1", served, closed)
	}

	c2, s2 := testConsumer(t, config.Sink{Name: "svc2"}, nil)
	s2.serveErr = errors.New("listen tcp :1: permission denied")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c2.Run(ctx, b.JetStream())
	if err == nil || !strings.Contains(err.Error(), "sink svc2: listen tcp :1") || ctx.Err() != nil {
		t.Errorf("Run with a failing Serve = %v, want the Serve error at once", err)
	}
	if s2.closed != 1 {
		t.Errorf("Close called %d times after a failed Serve, want 1", s2.closed)
	}
}

// TestReaderSource: a sink with a Kafka source is fed by its Reader; the
// handler retries failed writes with backoff, sets undecodable records aside
// on the dead-letter stream and reports success only when all is settled.
func TestReaderSource(t *testing.T) {
	b := openBus(t, t.TempDir())
	good := func(seq string) Record {
		return Record{Subject: "site1-processed", Data: []byte(`{"metrics_group_interval":60,"resource":{"resource_site":"site1","resource_class":"network","resource_subclass":"switch","resource_type":"cisco","resource_id":"sw1","resource_endpoint":"sw1"},` +
			`"dimensions":[{"dimension_name":"seq","dimension_value":"` + seq + `"}],"metrics_group_type":"interface","metrics":[{"metric_name":"bits_in","metric_value":1,"metric_type":"counter"}],"metrics_group_schema_version":"0.2"}`)}
	}
	r := &sliceReader{results: make(chan error, 4), batches: [][]Record{
		{good("1"), {Subject: "site1-processed", Data: []byte("not json")}, good("2")},
		{good("3")},
	}}
	readers.Lock()
	readers.next = r
	readers.Unlock()
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "from-kafka", Source: map[string]plugin.Block{"kafka": plugin.BlockOf(map[string]any{"topics": []string{"site1-processed"}})}}, reg)
	if c.source != r {
		t.Fatal("the consumer does not use the registered kafka source")
	}
	s.failFirst = 2
	running(t, c, b.JetStream())
	for i := 0; i < 2; i++ {
		select {
		case err := <-r.results:
			if err != nil {
				t.Fatalf("handler returned %v for batch %d, want nil after retries", err, i)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("handler did not settle the batch")
		}
	}
	if batches, _ := s.snapshot(); len(batches) != 2 || strings.Join(batches[0], ",") != "1,2" || strings.Join(batches[1], ",") != "3" {
		t.Errorf("written batches %v, want [1 2] [3]", batches)
	}
	dl := deadLetterMsgs(t, b.JetStream(), 1)
	if string(dl[0].Data) != "not json" || dl[0].Header.Get(HeaderSubject) != "site1-processed" ||
		!strings.HasPrefix(dl[0].Header.Get(HeaderReason), "decode: ") {
		t.Errorf("dead letter %q headers %v", dl[0].Data, dl[0].Header)
	}
	if v := gaugeValue(t, reg, "panoptes_sink_write_errors_total"); v != 2 {
		t.Errorf("write_errors_total = %v, want 2", v)
	}

	// A handler still failing when ctx ends reports it: nothing is committed.
	c2, s2 := testConsumer(t, config.Sink{Name: "k2"}, nil)
	s2.failFirst = 1 << 30
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c2.handleRecords(ctx, []Record{good("9")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handler with a failing store = %v, want the ctx error", err)
	}
}

// TestSlowWriteKeptInProgress: a write slower than the ack wait is not
// redelivered meanwhile to another process reading the same sink: the
// consumer keeps its batch in progress.
func TestSlowWriteKeptInProgress(t *testing.T) {
	b := openBus(t, t.TempDir())
	c1, s1 := testConsumer(t, config.Sink{Name: "slow"}, nil)
	c2, s2 := testConsumer(t, config.Sink{Name: "slow"}, nil) // a second process sharing the work
	for _, c := range []*Consumer{c1, c2} {
		c.pace.AckWait = 300 * time.Millisecond
	}
	s1.delay, s2.delay = 1200*time.Millisecond, 1200*time.Millisecond
	publish(t, b, 0, 5)
	running(t, c1, b.JetStream())
	running(t, c2, b.JetStream())
	eventually(t, "the batch acked", func() bool { return ackFloor(t, b.JetStream(), "slow") == 5 })
	time.Sleep(500 * time.Millisecond) // a redelivery would be written by now
	info := consumerInfo(t, b.JetStream(), "slow")
	if info.NumRedelivered != 0 || info.Config.AckWait != 300*time.Millisecond {
		t.Errorf("redelivered %d with ack wait %v; want none", info.NumRedelivered, info.Config.AckWait)
	}
	if n := s1.records() + s2.records(); n != 5 {
		t.Errorf("the store got %d records, want each of the 5 once", n)
	}
}

// TestLagAndLatencyMetrics: the pending gauge shows what the sink has yet
// to read, and each batch is timed (write duration, delivery latency).
func TestLagAndLatencyMetrics(t *testing.T) {
	b := openBus(t, t.TempDir())
	reg := prometheus.NewRegistry()
	c, s := testConsumer(t, config.Sink{Name: "lag", BatchSize: 5}, reg)
	s.delay = 400 * time.Millisecond
	publish(t, b, 0, 12)
	running(t, c, b.JetStream())
	eventually(t, "the first batch acked", func() bool { return ackFloor(t, b.JetStream(), "lag") == 5 })
	if v := gaugeValue(t, reg, "panoptes_sink_consumer_pending"); v != 7 {
		t.Errorf("consumer_pending = %v after the first of 12, want 7", v)
	}
	// The metrics follow the ack.
	eventually(t, "everything acked and timed", func() bool {
		n, _ := histogram(t, reg, "panoptes_sink_delivery_latency_seconds")
		return ackFloor(t, b.JetStream(), "lag") == 12 && n == 3
	})
	if v := gaugeValue(t, reg, "panoptes_sink_consumer_pending"); v != 0 {
		t.Errorf("consumer_pending = %v at the end, want 0", v)
	}
	for _, name := range []string{"panoptes_sink_write_duration_seconds", "panoptes_sink_delivery_latency_seconds"} {
		count, sum := histogram(t, reg, name)
		if count != 3 || sum < 3*0.4 {
			t.Errorf("%s: %d observations summing %.2fs, want 3 batches of at least 0.4s", name, count, sum)
		}
	}
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == name {
			h := fam.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}
