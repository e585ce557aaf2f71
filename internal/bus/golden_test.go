package bus_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/published.golden from this code")

// TestPublishedBytesGolden pins the bytes a publish puts on the bus: the
// subjects, the cut into messages, the JSON Lines and their S2 framing,
// with and without compression and coalescing. Deployed consumers read
// these bytes: a change here must be deliberate (-update rewrites the
// file; say why in the commit).
func TestPublishedBytesGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	var got strings.Builder
	for _, mode := range []struct {
		name   string
		opts   bus.Options
		linger bool
	}{
		{name: "none", opts: bus.Options{Compression: bus.CompressionNone}},
		{name: "s2", opts: bus.Options{Compression: bus.CompressionS2}},
		{name: "s2+linger", opts: bus.Options{Compression: bus.CompressionS2, Linger: 5 * time.Millisecond}, linger: true},
		{name: "zstd", opts: bus.Options{Compression: bus.CompressionZstd}},
		{name: "zstd+linger", opts: bus.Options{Compression: bus.CompressionZstd, Linger: 5 * time.Millisecond}, linger: true},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		opts := mode.opts
		// A slow machine must not send a set to the buffer (published
		// later, perhaps in another order): wait for every ack.
		opts.DataDir, opts.MaxBytes, opts.PublishTimeout = t.TempDir(), 256<<20, 50*time.Second
		b, err := bus.Open(ctx, opts)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		groups := 0
		for _, set := range goldenSets() {
			if n, err := b.PublishSet(ctx, set); err != nil || n != len(set.Groups) {
				t.Fatalf("%s: PublishSet = %d, %v", mode.name, n, err)
			}
			groups += len(set.Groups)
		}
		if h := b.Health(); h.Buffered > 0 {
			t.Fatalf("%s: %d messages buffered; the golden file holds what was published directly", mode.name, h.Buffered)
		}
		waitStreamGroups(t, b, wire.MetricsStream, uint64(groups))
		stream, err := b.JetStream().Stream(ctx, wire.MetricsStream)
		if err != nil {
			t.Fatal(err)
		}
		st := stream.CachedInfo().State
		var lines []string
		for seq := st.FirstSeq; seq <= st.LastSeq; seq++ {
			m, err := stream.GetMsg(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			pos := fmt.Sprint(seq)
			if mode.linger {
				pos = "-" // a set's coalesced batches are sent in any order
			}
			lines = append(lines, fmt.Sprintf("%s %s %s %d %x\n", mode.name, pos, m.Subject, len(m.Data), sha256.Sum256(m.Data)))
		}
		if mode.linger {
			slices.Sort(lines)
		}
		got.WriteString(strings.Join(lines, ""))
		_ = b.Close()
		cancel()
	}
	path := filepath.Join("testdata", "published.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("the bytes on the bus changed:\n got:\n%s\nwant:\n%s", got.String(), want)
	}
}

// goldenSets: a 600-port interface check (cut into several messages), a
// small set on a site with characters subjects cannot hold, and light sets
// (coalesced under linger; one of them large enough to compress).
func goldenSets() []*metric.GroupSet {
	sets := []*metric.GroupSet{
		interfaceSet(testResource("s1", "sw1"), 600),
		interfaceSet(testResource("dc1.ams west", "sw2"), 3),
		lightSet("sw3", 1),
		lightSet("sw4", 2),
	}
	many := &metric.GroupSet{}
	for i := range 20 {
		many.Groups = append(many.Groups, lightSet("sw5", 10+i).Groups[1])
	}
	return append(sets, many)
}
