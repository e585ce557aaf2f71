package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
)

// TestCompress: a message worth it becomes S2 framing that Compressed
// detects, s2's own reader reads and Decompress reverses; a small or
// incompressible one is left as it is; JSON is never taken for S2.
func TestCompress(t *testing.T) {
	raw := bytes.Repeat([]byte(`{"metrics_group_type":"interface","metrics":[]}`+"\n"), 100)
	prefix := []byte("keep")
	z, ok := Compress(prefix, raw, CodecS2)
	if !ok || !bytes.Equal(z[:4], prefix) {
		t.Fatalf("Compress of %d compressible bytes: ok=%v", len(raw), ok)
	}
	framed := z[4:]
	if !Compressed(framed) || len(framed)*4 > len(raw) {
		t.Fatalf("framing of %d bytes: compressed=%v, %d bytes", len(raw), Compressed(framed), len(framed))
	}
	if Compressed(raw) || Compressed(nil) || Compressed([]byte("\xff\x06\x00\x00S2s")) {
		t.Fatal("JSON or a cut identifier taken for S2")
	}
	got, err := Decompress(nil, framed)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("Decompress = %d bytes, %v", len(got), err)
	}
	std, err := io.ReadAll(s2.NewReader(bytes.NewReader(framed)))
	if err != nil || !bytes.Equal(std, raw) {
		t.Fatalf("s2.NewReader: %d bytes, %v", len(std), err)
	}
	if plain, err := Decompress([]byte("junk"), raw); err != nil || &plain[0] != &raw[0] {
		t.Fatalf("Decompress of JSON must return it as it is (err %v)", err)
	}

	small := raw[:MinCompress-1]
	if out, ok := Compress(prefix, small, CodecS2); ok || !bytes.Equal(out, prefix) {
		t.Fatalf("a %d-byte message was compressed", len(small))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	if out, ok := Compress(prefix, noise, CodecS2); ok || !bytes.Equal(out, prefix) {
		t.Fatalf("an incompressible message was compressed (%d bytes out)", len(out))
	}
}

// TestCompressZstd: with CodecZstd a message worth it becomes a zstd frame
// that Compressed detects and Decompress reverses, smaller than S2's; a
// small or incompressible one is left as it is; CodecNone leaves all.
func TestCompressZstd(t *testing.T) {
	raw := bytes.Repeat([]byte(`{"metrics_group_type":"interface","metrics":[]}`+"\n"), 100)
	z, ok := Compress([]byte("keep"), raw, CodecZstd)
	if !ok || string(z[:4]) != "keep" || !Compressed(z[4:]) || !bytes.HasPrefix(z[4:], []byte("\x28\xb5\x2f\xfd")) {
		t.Fatalf("Compress(zstd) of %d compressible bytes: ok=%v, %x", len(raw), ok, z[:min(len(z), 8)])
	}
	if s, _ := Compress(nil, raw, CodecS2); len(z)-4 >= len(s) {
		t.Errorf("zstd %d bytes, S2 %d: want zstd smaller", len(z)-4, len(s))
	}
	got, err := Decompress(nil, z[4:])
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("Decompress = %d bytes, %v", len(got), err)
	}
	if out, ok := Compress(nil, raw[:MinCompress-1], CodecZstd); ok || len(out) != 0 {
		t.Fatal("a message under MinCompress was compressed")
	}
	if out, ok := Compress(nil, raw, CodecNone); ok || len(out) != 0 {
		t.Fatal("CodecNone compressed")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	if out, ok := Compress(nil, noise, CodecZstd); ok || len(out) != 0 {
		t.Fatalf("an incompressible message was compressed (%d bytes out)", len(out))
	}
}

// TestDecompressDamaged: a cut or altered compressed message is an error
// wrapping ErrDamaged (never a panic or wrong data), and Groups yields it
// whole as one undecodable line rather than dropping it.
func TestDecompressDamaged(t *testing.T) {
	var buf bytes.Buffer
	w := s2.NewWriter(&buf)
	_, _ = w.Write(bytes.Repeat([]byte(`{"metrics_group_type":"interface"}`+"\n"), 200))
	_ = w.Close()
	good := buf.Bytes()
	cases := map[string][]byte{
		"cut":         good[:len(good)-3],
		"header only": good[:10],
		"flipped":     flip(good, len(good)-2),
		"bad chunk":   append(append([]byte(nil), good[:10]...), 0x05, 1, 0, 0, 'x'),
	}
	zgood, _ := Compress(nil, bytes.Repeat([]byte(`{"metrics_group_type":"interface"}`+"\n"), 200), CodecZstd)
	cases["zstd cut"] = zgood[:len(zgood)-3]
	cases["zstd flipped"] = flip(zgood, len(zgood)-2)
	for name, data := range cases {
		_, err := Decompress(nil, data)
		if name == "header only" {
			if err != nil {
				t.Errorf("%s: %v; an empty stream is empty, not damaged", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Decompress error = %v, want ErrDamaged", name, err)
		}
		n := 0
		for line := range Groups(data) {
			n++
			if !bytes.Equal(line, data) {
				t.Errorf("%s: Groups yielded a part of a damaged message", name)
			}
		}
		if n != 1 {
			t.Errorf("%s: Groups yielded %d lines, want the message whole once", name, n)
		}
	}
	if _, err := Decompress(nil, []byte(`{"a":1}`)); err != nil {
		t.Errorf("plain JSON: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// FuzzDecompress: any input either decodes or fails with ErrDamaged.
func FuzzDecompress(f *testing.F) {
	var buf bytes.Buffer
	w := s2.NewWriter(&buf)
	_, _ = w.Write([]byte(strings.Repeat(`{"x":1}`+"\n", 100)))
	_ = w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("\xff\x06\x00\x00S2sTwO\x00\x10\x00\x00"))
	z, _ := Compress(nil, []byte(strings.Repeat(`{"x":1}`+"\n", 100)), CodecZstd)
	f.Add(z)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decompress(nil, data)
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("error %v does not wrap ErrDamaged", err)
		}
		if err == nil && !Compressed(data) && !bytes.Equal(out, data) {
			t.Fatal("plain data changed")
		}
	})
}
