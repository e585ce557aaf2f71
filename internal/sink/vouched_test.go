package sink

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/s2frame"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// publishVouched publishes lines as one compressed message on subject
// with the given headers (key, value pairs).
func publishVouched(t *testing.T, nc *nats.Conn, subject string, kv []string, lines ...[]byte) {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = s2frame.Append(nil, append(bytes.Join(lines, []byte("\n")), '\n'))
	for i := 0; i+1 < len(kv); i += 2 {
		m.Header.Set(kv[i], kv[i+1])
	}
	r, err := nc.RequestMsg(m, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(r.Data, []byte(`"seq"`)) || bytes.Contains(r.Data, []byte(`"error"`)) {
		t.Fatalf("publish on %s: %s", subject, r.Data)
	}
}

// TestVouchedMessagesAreNotValidated: a file sink takes the groups of a
// message its publisher vouched for (wire.ValidHeader) without validating
// them (a group only Validate would refuse is written, and counted as
// trusted), and validates those of a message without the header or sourced
// from another stream (federation), whatever it says.
func TestVouchedMessagesAreNotValidated(t *testing.T) {
	b := openBus(t, t.TempDir())
	js := b.JetStream()
	badType := func(seq int) []byte {
		// A metric_type no Go value encodes to (Decode refuses it).
		return bytes.Replace(groupLine(seq, nil), []byte(`"metric_type":"counter"`), []byte(`"metric_type":"bogus"`), 1)
	}
	valid := []string{wire.ValidHeader, wire.ValidValue}
	subject := wire.MetricsSubject("site1", "interface")
	publishVouched(t, js.Conn(), subject, valid, groupLine(0, nil), badType(1))
	publishVouched(t, js.Conn(), subject, nil, groupLine(4, nil), badType(5))
	publishVouched(t, js.Conn(), subject, []string{wire.ValidHeader, "yes"}, badType(6))

	// A vouched message of another site's stream, sourced into ours as a
	// hub sources an edge's (JetStream refuses SourceHeader from a client).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EDGE", Subjects: []string{"edge.>"}}); err != nil {
		t.Fatal(err)
	}
	publishVouched(t, js.Conn(), "edge."+subject, valid, groupLine(2, nil), badType(3))
	st, err := js.Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Sources = []*jetstream.StreamSource{{Name: "EDGE", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "edge.panoptes.metrics.*.*", Destination: "panoptes.metrics.{{wildcard(1)}}.{{wildcard(2)}}"}}}}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "m.jsonl")
	reg := prometheus.NewRegistry()
	file := fastConsumer(t, config.Sink{Name: "raw", Options: fileBlock(path)}, reg)
	running(t, file, js)
	eventually(t, "everything acked", func() bool { return ackFloor(t, js, "raw") == 4 })

	got := rawSeqs(t, path) // a vouched group that is invalid does not decode
	want := map[string]int{"0": 1, "1": 1, "2": 1, "4": 1}
	if len(got) != len(want) {
		t.Errorf("file holds seqs %v, want %v", got, want)
	}
	for s, n := range want {
		if got[s] != n {
			t.Errorf("file holds seqs %v, want %v", got, want)
			break
		}
	}
	if v := gaugeValue(t, reg, "panoptes_sink_groups_trusted_total"); v != 2 {
		t.Errorf("groups_trusted_total = %v, want 2 (the first message's)", v)
	}
	if v := counterWithLabel(t, reg, "panoptes_sink_messages_dead_lettered_total", "reason", "decode"); v != 3 {
		t.Errorf("dead_lettered{reason=decode} = %v, want 3 (seqs 3, 5 and 6)", v)
	}
}

// rawSeqs counts the lines of a file sink's output by their seq dimension,
// read from the bytes: a line need not decode.
func rawSeqs(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"dimension_name":"seq","dimension_value":"(\d+)"`)
	out := map[string]int{}
	for line := range bytes.Lines(data) {
		m := re.FindSubmatch(line)
		if m == nil {
			t.Fatalf("%s: a line without a seq dimension: %.100s", path, line)
		}
		out[string(m[1])]++
	}
	return out
}
