package bus

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// TestRetarget: a coalesced message of several resources framed for
// generation 1 is split by partition of generation 2, lines in order,
// compressed when worth it, ids suffixed by partition; a one-resource
// message keeps its bytes and id; a damaged one goes whole to partition 0.
func TestRetarget(t *testing.T) {
	for _, codec := range []wire.Codec{wire.CodecS2, wire.CodecZstd} {
		t.Run(fmt.Sprint(codec), func(t *testing.T) { testRetarget(t, codec) })
	}
}

func testRetarget(t *testing.T, codec wire.Codec) {
	b := &Bus{codec: codec}
	old, l := wire.Layout{Gen: 1, N: 3}, wire.Layout{Gen: 2, N: 4}
	var lines [][]byte
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("sw%d", i%8)
		r := &resource.Resource{Site: "lab", Class: "network", Subclass: "switch", Type: "cisco", ID: id, Endpoint: id}
		g := &metric.Group{Resource: r, Type: "uptime", Interval: 1, SchemaVersion: metric.SchemaVersion,
			Dimensions: []metric.Dimension{{Name: "seq", Value: fmt.Sprint(i)}},
			Metrics:    []metric.Metric{{Name: "uptime", Value: metric.Uint(uint64(i)), Type: metric.Gauge}}}
		lines = append(lines, metric.AppendJSON(nil, g))
		ids = append(ids, id)
	}
	raw := bytes.Join(lines, []byte{'\n'})
	z, _ := wire.Compress(nil, raw, codec)
	p := pending{subject: old.Subject("lab", "uptime", 1), id: "abc-1", data: z, groups: len(lines)}
	parts := b.retarget(p, l)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want a split over several partitions", len(parts))
	}
	total := 0
	for _, pt := range parts {
		sub, err := wire.ParseSubject(pt.subject)
		if err != nil || sub.Gen != 2 || sub.Type != "uptime" || !l.Holds(pt.subject) {
			t.Fatalf("part subject %q: %+v, %v", pt.subject, sub, err)
		}
		if want := fmt.Sprintf("abc-1.%d", sub.Part); pt.id != want {
			t.Errorf("part id %q, want %q", pt.id, want)
		}
		if len(pt.data) >= wire.MinCompress && !wire.Compressed(pt.data) {
			t.Errorf("part %s: %d bytes not compressed", pt.subject, len(pt.data))
		}
		gs, err := wire.Decode(pt.data)
		if err != nil || len(gs) != pt.groups {
			t.Fatalf("part %s: %d groups (%v), says %d", pt.subject, len(gs), err, pt.groups)
		}
		last := -1
		for _, g := range gs {
			var seq int
			fmt.Sscan(g.Dimension("seq"), &seq)
			if l.Partition(g.Resource.ID) != sub.Part || seq <= last {
				t.Errorf("part %s: group %s seq %d after %d", pt.subject, g.Resource.ID, seq, last)
			}
			last = seq
		}
		total += len(gs)
	}
	if total != len(lines) {
		t.Fatalf("%d groups in the parts, want %d", total, len(lines))
	}

	one := pending{subject: "panoptes.metrics.lab.uptime", id: "abc-2", data: lines[0], groups: 1}
	got := b.retarget(one, l)
	if len(got) != 1 || got[0].id != "abc-2" || !bytes.Equal(got[0].data, lines[0]) || got[0].subject != l.Subject("lab", "uptime", l.Partition(ids[0])) {
		t.Fatalf("one resource: %+v", got)
	}
	damaged := pending{subject: p.subject, id: "abc-3", data: z[:len(z)-5], groups: 40}
	if got := b.retarget(damaged, l); len(got) != 1 || got[0].subject != l.Subject("lab", "uptime", 0) || got[0].id != "abc-3" {
		t.Fatalf("damaged: %+v", got)
	}
}

// TestBufferRewrite: rewriting replaces messages in place, keeps the rest
// and the accounting right.
func TestBufferRewrite(t *testing.T) {
	q := newBuffer(100, 1<<20, newMetrics(nil))
	q.push(testPending(4))
	q.pop(1) // head moved
	q.rewrite(2, func(p pending) []pending {
		if p.id != "id1" {
			return nil
		}
		return []pending{{subject: "a", id: "id1.0", groups: 1}, {subject: "b", id: "id1.1", groups: 1}}
	})
	var got []string
	for _, p := range q.peek(10) {
		got = append(got, p.id)
	}
	if fmt.Sprint(got) != "[id1.0 id1.1 id2 id3]" {
		t.Fatalf("after rewrite: %v", got)
	}
	want := int64(0)
	for _, p := range q.peek(10) {
		want += p.size()
	}
	if n, bytes, _ := q.stats(); n != 4 || bytes != want {
		t.Fatalf("stats %d messages, %d bytes; want 4, %d", n, bytes, want)
	}
}
