package s2frame

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/s2"
)

// FuzzDecode feeds Decode any payload, framed or not. Plain data comes back
// as is; framed data decodes or fails with ErrDamaged; whatever decodes is
// what s2's own stream reader reads from the same bytes, and whatever s2's
// reader reads (within MaxDecoded) Decode reads too. Allocation stays
// within a small multiple of the output plus one block: a header claiming
// a 4 MiB block costs at most that block, never more.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"metrics_group_type":"cpu"}`))
	f.Add(Append(nil, bytes.Repeat([]byte(`{"x":1}`+"\n"), 100)))
	f.Add(Append(nil, []byte("x")))                            // stored uncompressed
	f.Add(append(Append(nil, []byte("ab")), s2Magic...))       // a repeated stream identifier
	f.Add(append(Append(nil, []byte("ab")), 0xfe, 1, 0, 0, 9)) // a skippable chunk
	f.Add([]byte(s2Magic + "\x00\x10\x00\x00"))                // cut short
	var theirs bytes.Buffer
	w := s2.NewWriter(&theirs)
	_, _ = w.Write(bytes.Repeat([]byte("panoptes "), 1000))
	_ = w.Close()
	f.Add(theirs.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		out, err := Decode(nil, data)
		runtime.ReadMemStats(&ms)
		if limit := uint64(3*len(out) + 2*s2MaxChunk + 64<<10); ms.TotalAlloc-before > limit {
			t.Fatalf("%d-byte payload: %d bytes allocated for %d out (limit %d)", len(data), ms.TotalAlloc-before, len(out), limit)
		}
		if !Is(data) {
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("plain data: %v, changed=%v", err, !bytes.Equal(out, data))
			}
			return
		}
		if err != nil && !errors.Is(err, ErrDamaged) {
			t.Fatalf("error %v does not wrap ErrDamaged", err)
		}
		std, stdErr := io.ReadAll(io.LimitReader(stdReader(data), MaxDecoded+1))
		switch {
		case stdErr == nil && len(std) <= MaxDecoded && err != nil:
			t.Fatalf("s2's reader reads %d bytes, Decode fails: %v", len(std), err)
		case err == nil && stdErr != nil && !reservedChunk(data):
			t.Fatalf("Decode reads %d bytes, s2's reader fails: %v", len(out), stdErr)
		case err == nil && stdErr == nil && !bytes.Equal(out, std):
			t.Fatalf("Decode and s2's reader disagree: %d and %d bytes", len(out), len(std))
		}
		if err == nil {
			if again, err := Decode(nil, Append(nil, out)); err != nil || !bytes.Equal(again, out) {
				t.Fatalf("re-framed output does not read back: %v", err)
			}
		}
	})
}

// stdReader is s2's stream reader over data. One reader is reset for
// each input: a new one allocates two 4 MiB buffers, which would make the
// reader, not Decode, what an iteration costs.
func stdReader(data []byte) io.Reader {
	if theirReader == nil {
		theirReader = s2.NewReader(nil)
	}
	theirReader.Reset(bytes.NewReader(data))
	return theirReader
}

var theirReader *s2.Reader

// reservedChunk reports whether data holds a chunk that Decode skips and
// s2's reader refuses: a reserved unskippable type (0x02-0x7f is refused
// by both) is not one; a 0xff chunk with another body is.
func reservedChunk(data []byte) bool {
	rest := data[len(s2Magic):]
	for len(rest) >= 4 {
		kind, n := rest[0], int(rest[1])|int(rest[2])<<8|int(rest[3])<<16
		if n > len(rest)-4 {
			return false
		}
		if kind == 0xff && !bytes.Equal(rest[4:4+n], []byte(s2Magic[4:])) {
			return true
		}
		rest = rest[4+n:]
	}
	return false
}

// FuzzAppend: any payload framed by Append reads back with Decode and with
// s2's reader, and is recognised as framed.
func FuzzAppend(f *testing.F) {
	f.Add([]byte(`{"metrics_group_type":"cpu"}` + "\n"))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 5000))
	f.Fuzz(func(t *testing.T, raw []byte) {
		framed := Append(nil, raw)
		if !Is(framed) {
			t.Fatal("Append's output is not recognised as framed")
		}
		got, err := Decode(nil, framed)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("Decode: %d bytes, %v; want %d", len(got), err, len(raw))
		}
		std, err := io.ReadAll(stdReader(framed))
		if err != nil || !bytes.Equal(std, raw) {
			t.Fatalf("s2's reader: %d bytes, %v; want %d", len(std), err, len(raw))
		}
	})
}
