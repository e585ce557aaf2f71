package zstdframe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// interfaceMessage is a 48-port switch's interface message as the bus
// carries it (~50 KB of JSON Lines): every line its own interface and
// counters.
func interfaceMessage(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 6))
	var raw []byte
	for i := range 48 {
		raw = fmt.Appendf(raw, `{"metrics_group_interval":60,"resource":{"resource_site":"bench","resource_class":"network","resource_subclass":"switch","resource_type":"cisco","resource_id":"switch48-0005","resource_endpoint":"127.0.0.1:32104"},"dimensions":[{"dimension_name":"interface_name","dimension_value":"Gi1/0/%d"},{"dimension_name":"alias","dimension_value":"uplink to rack %d"}],"metrics_group_type":"interface","metrics":[`, i+1, rng.IntN(400))
		for j := range 20 {
			raw = fmt.Appendf(raw, `{"metric_creation_timestamp":1795608982.%03d,"metric_type":"counter","metric_name":"metric_%d","metric_value":%d},`, rng.IntN(1000), j, rng.Uint64()>>uint(rng.IntN(60)))
		}
		raw = append(raw[:len(raw)-1], "]}\n"...)
	}
	return raw
}

// TestAppend: what Append writes after dst is a frame that Is detects,
// Decode reverses and zstd's own stream reader reads; JSON and S2 are
// never taken for a frame, and pass through Decode as they are.
func TestAppend(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 70_000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	for name, raw := range map[string][]byte{
		"empty": nil, "one byte": []byte("{"), "message": interfaceMessage(1), "noise": noise,
		"256 KiB": bytes.Repeat(interfaceMessage(2), 6)[:256<<10],
	} {
		z := Append([]byte("keep"), raw)
		if !bytes.Equal(z[:4], []byte("keep")) || !Is(z[4:]) {
			t.Fatalf("%s: dst not kept, or the frame not detected (%x)", name, z[:min(len(z), 12)])
		}
		got, err := Decode([]byte("junk"), z[4:])
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("%s: Decode = %d bytes, %v; want the %d in", name, len(got), err, len(raw))
		}
		r, err := zstd.NewReader(bytes.NewReader(z[4:]))
		if err != nil {
			t.Fatal(err)
		}
		std, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(std, raw) {
			t.Fatalf("%s: zstd's stream reader: %d bytes, %v", name, len(std), err)
		}
	}
	for _, plain := range [][]byte{[]byte(`{"metrics_group_type":"cpu"}`), []byte("(x"), []byte(Magic[:3]), nil,
		s2.EncodeSnappy(nil, []byte("x")), []byte("\xff\x06\x00\x00S2sTwO")} {
		if Is(plain) {
			t.Errorf("%q taken for a zstd frame", plain)
		}
		if out, err := Decode(nil, plain); err != nil || !bytes.Equal(out, plain) {
			t.Errorf("Decode(%q) = %q, %v; want it as it is", plain, out, err)
		}
	}
}

// TestRatio: zstd shrinks the interface message at least 1.5× more than
// S2 (the reason it is offered; ~1.8× measured).
func TestRatio(t *testing.T) {
	raw := interfaceMessage(3)
	z, s := len(Append(nil, raw)), len(s2.Encode(nil, raw))
	if float64(s)/float64(z) < 1.5 {
		t.Errorf("%d bytes of JSON: zstd %d bytes, S2 %d: want zstd 1.5× smaller", len(raw), z, s)
	}
}

// TestDecodeDamaged: a cut or altered frame is an error wrapping
// ErrDamaged, never a panic or wrong data (the frame's checksum).
func TestDecodeDamaged(t *testing.T) {
	good := Append(nil, interfaceMessage(4))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		return b
	}
	for name, data := range map[string][]byte{
		"cut":           good[:len(good)-3],
		"magic only":    []byte(Magic),
		"checksum":      flip(len(good) - 2),
		"body":          flip(len(good) / 2),
		"trailing junk": append(bytes.Clone(good), 1, 2, 3),
	} {
		out, err := Decode(nil, data)
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Decode = %d bytes, %v; want ErrDamaged", name, len(out), err)
		}
	}
}

// TestDecodeBounded: a small frame that would expand past MaxDecoded is
// refused, not expanded, whether it declares its size (checked before
// decoding) or not (checked while decoding); one of exactly MaxDecoded
// decodes.
func TestDecodeBounded(t *testing.T) {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		t.Fatal(err)
	}
	bomb := e.EncodeAll(make([]byte, MaxDecoded+1), nil)
	exact := e.EncodeAll(make([]byte, MaxDecoded), nil)
	var streamed bytes.Buffer // a stream writer declares no size
	sw, err := zstd.NewWriter(&streamed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Write(make([]byte, MaxDecoded+1)); err != nil || sw.Close() != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if err := h.Decode(streamed.Bytes()); err != nil || h.HasFCS {
		t.Fatalf("the streamed frame declares its size (%v, %v): the test needs one that does not", h.HasFCS, err)
	}
	for name, frame := range map[string][]byte{"declared": bomb, "undeclared": streamed.Bytes()} {
		if len(frame) > 1<<20 {
			t.Fatalf("%s: test frame %d bytes; want a small one", name, len(frame))
		}
		if out, err := Decode(nil, frame); !errors.Is(err, ErrDamaged) {
			t.Fatalf("%s: Decode of a %d-byte frame expanding past %d MiB: %d bytes, %v", name, len(frame), MaxDecoded>>20, len(out), err)
		}
	}
	if out, err := Decode(nil, exact); err != nil || len(out) != MaxDecoded {
		t.Fatalf("Decode of exactly MaxDecoded: %d bytes, %v", len(out), err)
	}
}

// BenchmarkZstdFrame: the cost of compressing a 48-port switch's interface
// message, per JSON byte (compare BenchmarkS2Frame in internal/s2frame).
func BenchmarkZstdFrame(b *testing.B) {
	raw := interfaceMessage(5)
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
