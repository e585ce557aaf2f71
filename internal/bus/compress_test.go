package bus_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestPublishCompressed publishes through a real embedded server, with
// compression (the default) and without, and reads the stored messages.
func TestPublishCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	for _, mode := range []string{"", bus.CompressionNone} {
		t.Run("compression="+mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Compression: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			set := interfaceSet(testResource("s1", "sw1"), 48)
			if n, err := b.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
				t.Fatalf("PublishSet = %d, %v", n, err)
			}
			var plain []byte
			for _, g := range set.Groups {
				if g.Type == "interface" {
					plain = append(metric.AppendJSON(plain, g), '\n')
				}
			}
			plain = bytes.TrimSuffix(plain, []byte("\n"))
			stream, err := b.JetStream().Stream(ctx, bus.StreamName)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := stream.GetLastMsgForSubject(ctx, "panoptes.metrics.s1.interface")
			if err != nil {
				t.Fatal(err)
			}
			if mode == bus.CompressionNone {
				if !bytes.Equal(raw.Data, plain) {
					t.Fatalf("uncompressed message differs from the JSON Lines of the groups")
				}
				return
			}
			if !bus.Compressed(raw.Data) || len(raw.Data)*4 > len(plain) {
				t.Fatalf("stored %d bytes for %d bytes of JSON; want S2 framing at least 4× smaller", len(raw.Data), len(plain))
			}
			got, err := bus.Payload(nil, raw.Data)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("Payload = %d bytes, %v; want the %d bytes of JSON", len(got), err, len(plain))
			}
			if n := bus.GroupCount(raw.Data); n != 48 {
				t.Errorf("GroupCount(compressed) = %d, want 48", n)
			}
			if gs, err := bus.DecodeMessage(raw.Data); err != nil || len(gs) != 48 || gs[47].Dimensions[0].Value != "Ethernet1/48" {
				t.Errorf("DecodeMessage(compressed) = %d groups, %v; want the 48 interfaces in order", len(gs), err)
			}
			if _, err := bus.DecodeMessage(raw.Data[:len(raw.Data)-5]); !errors.Is(err, bus.ErrDamaged) {
				t.Errorf("DecodeMessage of a cut message: %v, want ErrDamaged", err)
			}
			// And s2's own reader reads what we wrote.
			std, err := io.ReadAll(s2.NewReader(bytes.NewReader(raw.Data)))
			if err != nil || !bytes.Equal(std, plain) {
				t.Fatalf("s2.NewReader: %d bytes, %v", len(std), err)
			}
		})
	}
}

// TestPayloadDamaged: a cut or altered compressed message is an error
// wrapping ErrDamaged (never a panic or wrong data), and Groups yields it
// whole as one undecodable line rather than dropping it.
func TestPayloadDamaged(t *testing.T) {
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
	for name, data := range cases {
		_, err := bus.Payload(nil, data)
		if name == "header only" {
			if err != nil {
				t.Errorf("%s: %v; an empty stream is empty, not damaged", name, err)
			}
			continue
		}
		if !errors.Is(err, bus.ErrDamaged) {
			t.Errorf("%s: Payload error = %v, want ErrDamaged", name, err)
		}
		n := 0
		for line := range bus.Groups(data) {
			n++
			if !bytes.Equal(line, data) {
				t.Errorf("%s: Groups yielded a part of a damaged message", name)
			}
		}
		if n != 1 {
			t.Errorf("%s: Groups yielded %d lines, want the message whole once", name, n)
		}
	}
	if _, err := bus.Payload(nil, []byte(`{"a":1}`)); err != nil {
		t.Errorf("plain JSON: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// FuzzPayload: any input either decodes or fails with ErrDamaged.
func FuzzPayload(f *testing.F) {
	var buf bytes.Buffer
	w := s2.NewWriter(&buf)
	_, _ = w.Write([]byte(strings.Repeat(`{"x":1}`+"\n", 100)))
	_ = w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("\xff\x06\x00\x00S2sTwO\x00\x10\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := bus.Payload(nil, data)
		if err != nil && !errors.Is(err, bus.ErrDamaged) {
			t.Fatalf("error %v does not wrap ErrDamaged", err)
		}
		if err == nil && !bus.Compressed(data) && !bytes.Equal(out, data) {
			t.Fatal("plain data changed")
		}
	})
}
