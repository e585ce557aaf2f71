package s2frame

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
)

// TestAppend writes the framing (several chunks, incompressible data
// stored as is) and reads it back with Decode and with s2's reader, and
// Decode reads what s2's writer frames.
func TestAppend(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	json := bytes.Repeat([]byte(`{"metric_name":"bits_in","metric_value":12345}`+"\n"), 100_000) // 4.7 MB: 2 chunks
	for name, raw := range map[string][]byte{"json": json, "random": random, "one byte": {'{'}} {
		framed := Append([]byte("prefix"), raw)
		framed = framed[len("prefix"):]
		got, err := Decode(nil, framed)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%s: Payload = %d bytes, %v", name, len(got), err)
		}
		std, err := io.ReadAll(s2.NewReader(bytes.NewReader(framed)))
		if err != nil || !bytes.Equal(std, raw) {
			t.Fatalf("%s: s2.NewReader = %d bytes, %v", name, len(std), err)
		}
		// And the other way: what s2's own writer frames, Decode reads.
		var theirs bytes.Buffer
		w := s2.NewWriter(&theirs)
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := Decode(nil, theirs.Bytes()); err != nil || !Is(theirs.Bytes()) || !bytes.Equal(got, raw) {
			t.Fatalf("%s: Decode(s2.Writer output) = %d bytes, %v", name, len(got), err)
		}
		if name == "json" && len(framed)*10 > len(raw) {
			t.Errorf("json: %d → %d bytes; want at least 10× smaller", len(raw), len(framed))
		}
		if name == "random" && len(framed) > len(raw)+32 {
			t.Errorf("random: %d → %d bytes; incompressible chunks must be stored as is", len(raw), len(framed))
		}
	}
}

// BenchmarkCompressInterfaceMessage: the cost of compressing a 48-port
// switch's interface message (~230 KB of JSON), per JSON byte.
func BenchmarkS2Frame(b *testing.B) {
	// Realistic variety: every line has its own interface and counters.
	rng := rand.New(rand.NewPCG(5, 6))
	var raw []byte
	for i := range 48 {
		raw = fmt.Appendf(raw, `{"metrics_group_interval":60,"resource":{"resource_site":"bench","resource_class":"network","resource_subclass":"switch","resource_type":"cisco","resource_id":"switch48-0005","resource_endpoint":"127.0.0.1:32104"},"dimensions":[{"dimension_name":"interface_name","dimension_value":"Gi1/0/%d"},{"dimension_name":"alias","dimension_value":"uplink to rack %d"}],"metrics_group_type":"interface","metrics":[`, i+1, rng.IntN(400))
		for j := range 20 {
			raw = fmt.Appendf(raw, `{"metric_creation_timestamp":1795608982.%03d,"metric_type":"counter","metric_name":"metric_%d","metric_value":%d},`, rng.IntN(1000), j, rng.Uint64()>>uint(rng.IntN(60)))
		}
		raw = append(raw[:len(raw)-1], "]}\n"...)
	}
	var dst, plain []byte
	b.Run("compress", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			dst = Append(dst[:0], raw)
		}
		b.ReportMetric(float64(len(raw))/float64(len(dst)), "ratio")
	})
	b.Run("decompress", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			plain, _ = Decode(plain, dst)
		}
	})
}

// TestDecodeBounded: a small payload that would expand past MaxDecoded
// (many chunks of one repeated byte) is refused, not expanded.
func TestDecodeBounded(t *testing.T) {
	zeros := make([]byte, s2MaxChunk)
	one := Append(nil, zeros)
	chunk := one[len(s2Magic):] // a 4 MiB chunk, compressed
	bomb := []byte(s2Magic)
	for range MaxDecoded/s2MaxChunk + 1 {
		bomb = append(bomb, chunk...)
	}
	if len(bomb) > 1<<20 {
		t.Fatalf("test payload %d bytes; want a small one", len(bomb))
	}
	if _, err := Decode(nil, bomb); err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("Decode of a %d-byte payload expanding past %d MiB: %v", len(bomb), MaxDecoded>>20, err)
	}
	exact := append([]byte(s2Magic), bytes.Repeat(chunk, MaxDecoded/s2MaxChunk)...)
	if out, err := Decode(nil, exact); err != nil || len(out) != MaxDecoded {
		t.Fatalf("Decode of exactly MaxDecoded: %d bytes, %v", len(out), err)
	}
}
