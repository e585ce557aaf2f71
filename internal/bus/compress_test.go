package bus_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
	"github.com/panoptes-go/panoptes/internal/zstdframe"
)

// TestPublishCompressed publishes through a real embedded server, with
// S2 (the default), zstd and no compression, and reads the stored
// messages.
func TestPublishCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	stored := map[string]int{}
	for _, mode := range []string{"", bus.CompressionZstd, bus.CompressionNone} {
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
			stream, err := b.JetStream().Stream(ctx, wire.MetricsStream)
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
			stored[mode] = len(raw.Data)
			if !wire.Compressed(raw.Data) || len(raw.Data)*4 > len(plain) {
				t.Fatalf("stored %d bytes for %d bytes of JSON; want compression at least 4× smaller", len(raw.Data), len(plain))
			}
			got, err := wire.Decompress(nil, raw.Data)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("Decompress = %d bytes, %v; want the %d bytes of JSON", len(got), err, len(plain))
			}
			if n := wire.GroupCount(raw.Data); n != 48 {
				t.Errorf("GroupCount(compressed) = %d, want 48", n)
			}
			if gs, err := wire.Decode(raw.Data); err != nil || len(gs) != 48 || gs[47].Dimensions[0].Value != "Ethernet1/48" {
				t.Errorf("DecodeMessage(compressed) = %d groups, %v; want the 48 interfaces in order", len(gs), err)
			}
			if _, err := wire.Decode(raw.Data[:len(raw.Data)-5]); !errors.Is(err, wire.ErrDamaged) {
				t.Errorf("DecodeMessage of a cut message: %v, want ErrDamaged", err)
			}
			// And the codec's own reader reads what we wrote.
			var r io.Reader = s2.NewReader(bytes.NewReader(raw.Data))
			if mode == bus.CompressionZstd {
				if !bytes.HasPrefix(raw.Data, []byte(zstdframe.Magic)) {
					t.Fatalf("zstd: message starts %x, want a zstd frame", raw.Data[:4])
				}
				zr, err := zstd.NewReader(bytes.NewReader(raw.Data))
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				r = zr
			}
			std, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(std, plain) {
				t.Fatalf("the codec's reader: %d bytes, %v", len(std), err)
			}
		})
	}
	if z, s := stored[bus.CompressionZstd], stored[""]; z > 0 && s > 0 && z >= s {
		t.Errorf("stored %d bytes with zstd, %d with S2 (the default): want zstd smaller", z, s)
	}
}
