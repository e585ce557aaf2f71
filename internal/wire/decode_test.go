package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestDecodeMalformed: a line that is not a group is Decode's error; empty
// lines are skipped; a damaged compressed message wraps ErrDamaged.
func TestDecodeMalformed(t *testing.T) {
	good := string(metric.AppendJSON(nil, interfaceSet(testResource("s", "x"), 1).Groups[0]))
	if gs, err := Decode([]byte("\n" + good + "\n\n  \n" + good + "\n")); err != nil || len(gs) != 2 {
		t.Fatalf("empty lines: %d groups, %v", len(gs), err)
	}
	for name, data := range map[string]string{
		"garbage":      "garbage{",
		"second line":  good + "\n{\"metrics_group_type\":",
		"not a group":  `{"a":1}`,
		"json array":   "[]",
		"bare newline": good + "\nnull",
	} {
		if gs, err := Decode([]byte(data)); err == nil {
			t.Errorf("%s: decoded %d groups, want an error", name, len(gs))
		}
	}
	z, _ := Compress(nil, []byte(strings.Repeat(good+"\n", 10)), CodecZstd)
	if _, err := Decode(z[:len(z)-4]); !errors.Is(err, ErrDamaged) {
		t.Fatalf("cut compressed message: %v, want ErrDamaged", err)
	}
}

// TestReader: compressed messages are decompressed into one buffer reused
// from call to call; plain ones are returned as they are; Trim lets go of
// a buffer a large message grew.
func TestReader(t *testing.T) {
	line := metric.AppendJSON(nil, interfaceSet(testResource("s", "x"), 1).Groups[0])
	small := bytes.Repeat(append(line, '\n'), 20)
	zs, _ := Compress(nil, small, CodecZstd)
	var r Reader
	a, err := r.Payload(zs)
	if err != nil || !bytes.Equal(a, small) {
		t.Fatal(err)
	}
	b, _ := r.Payload(zs)
	if &a[0] != &b[0] {
		t.Fatal("the buffer was not reused")
	}
	if p, _ := r.Payload(line); &p[0] != &line[0] {
		t.Fatal("a plain message was copied")
	}
	if _, err := r.Payload(zs[:len(zs)-3]); !errors.Is(err, ErrDamaged) {
		t.Fatalf("damaged: %v", err)
	}
	big := bytes.Repeat(append(line, '\n'), 2*maxKeptPlain/len(line))
	zb, _ := Compress(nil, big, CodecZstd)
	if p, err := r.Payload(zb); err != nil || !bytes.Equal(p, big) {
		t.Fatal(err)
	}
	r.Trim()
	if r.plain != nil {
		t.Fatalf("Trim kept a %d-byte buffer", cap(r.plain))
	}
	c, _ := r.Payload(zs)
	r.Trim()
	if d, _ := r.Payload(zs); &c[0] != &d[0] {
		t.Fatal("Trim dropped a small buffer")
	}
}
