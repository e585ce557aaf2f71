package zstdframe

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds Decode any payload, a frame or not. Plain data comes
// back as it is; a frame decodes or fails with ErrDamaged, never past
// MaxDecoded; what decodes encodes and decodes back to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"metrics_group_type":"cpu"}`))
	f.Add(Append(nil, bytes.Repeat([]byte(`{"x":1}`+"\n"), 100)))
	f.Add(Append(nil, []byte("x")))
	f.Add(Append(nil, nil))
	f.Add([]byte(Magic + "\x00\x10\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decode(nil, data)
		if !Is(data) {
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("plain payload: %q, %v", out, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("error %v does not wrap ErrDamaged", err)
			}
			return
		}
		if len(out) > MaxDecoded {
			t.Fatalf("decoded %d bytes, past MaxDecoded", len(out))
		}
		again, err := Decode(nil, Append(nil, out))
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip of %d decoded bytes: %d, %v", len(out), len(again), err)
		}
	})
}
