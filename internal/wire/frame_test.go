package wire

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestEncodeRoundTrip: a set of several subjects becomes one message per
// subject, in order of first appearance, each holding its groups in order
// one per line; decoding every message gives the groups back (a counter
// above 2^53 intact), compressed or not. A group without a resource is
// left out and counted.
func TestEncodeRoundTrip(t *testing.T) {
	sw1, sw2 := testResource("site1", "sw1"), testResource("dc1.ams", "sw2")
	set := interfaceSet(sw1, 3)
	set.Groups = slices.Insert(set.Groups, 1, interfaceSet(sw2, 1).Groups...) // sw2's interface and status
	set.Groups = append(set.Groups, nil, &metric.Group{Type: "orphan"})
	set.Groups[0].Metrics[0].Value = metric.Uint(1<<63 + 1)
	for _, compress := range []bool{false, true} {
		var e Encoder
		var subjects SubjectCache
		invalid, err := e.Encode(set, &subjects, Legacy)
		if invalid != 2 || err == nil || !strings.Contains(err.Error(), "group 6 has no resource") {
			t.Fatalf("Encode: %d invalid, %v; want 2 and group 6 named", invalid, err)
		}
		var rawSize []int
		for _, m := range e.Messages() {
			rawSize = append(rawSize, m.Size())
		}
		if compress {
			e.Compress(CodecZstd)
		}
		var subjs []string
		var got []*metric.Group
		for i, m := range e.Messages() {
			subjs = append(subjs, m.Subject)
			data := e.Bytes(i)
			if len(data) != m.Size() || Compressed(data) != (compress && rawSize[i] >= MinCompress) {
				t.Errorf("message %d (%s): %d bytes, compressed %v", i, m.Subject, len(data), Compressed(data))
			}
			gs, err := Decode(data)
			if err != nil || len(gs) != m.Groups || GroupCount(data) != m.Groups {
				t.Fatalf("Decode(message %d) = %d groups, %v; want %d", i, len(gs), err, m.Groups)
			}
			got = append(got, gs...)
		}
		wantSubj := []string{"panoptes.metrics.site1.interface", "panoptes.metrics.dc1_ams.interface",
			"panoptes.metrics.dc1_ams.status", "panoptes.metrics.site1.status"}
		if !slices.Equal(subjs, wantSubj) {
			t.Fatalf("subjects %q, want %q", subjs, wantSubj)
		}
		order := []int{0, 3, 4, 1, 2, 5} // set's groups by message: site1 interfaces, sw2's two, site1 status
		var want []*metric.Group
		for _, i := range order {
			want = append(want, set.Groups[i])
		}
		if !slices.Equal(jsonOf(got), jsonOf(want)) {
			t.Fatalf("compress=%v: decoded groups differ from those encoded", compress)
		}
	}
}

// TestEncodeCutsAtMaxMessageBytes: a 600-port check's interface groups are
// cut into messages that close once they reach MaxMessageBytes (so each is
// under it plus one group), and the cut loses and reorders nothing.
func TestEncodeCutsAtMaxMessageBytes(t *testing.T) {
	set := interfaceSet(testResource("s1", "sw1"), 600)
	var e Encoder
	var subjects SubjectCache
	if invalid, err := e.Encode(set, &subjects, Legacy); invalid != 0 || err != nil {
		t.Fatal(invalid, err)
	}
	one := len(metric.AppendJSON(nil, set.Groups[0]))
	var got []*metric.Group
	var ifaces int
	for i, m := range e.Messages() {
		if m.Subject != "panoptes.metrics.s1.interface" {
			continue
		}
		ifaces++
		last := i == len(e.Messages())-2 // the status message comes after
		if m.Size() >= MaxMessageBytes+one+1 || !last && m.Size() < MaxMessageBytes {
			t.Errorf("interface message %d: %d bytes (bound %d, a group ~%d)", i, m.Size(), MaxMessageBytes, one)
		}
		data := e.Bytes(i)
		if bytes.HasSuffix(data, []byte("\n")) || bytes.Count(data, []byte("\n")) != m.Groups-1 {
			t.Errorf("message %d is not %d lines joined by newlines", i, m.Groups)
		}
		gs, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, gs...)
	}
	if ifaces < 3 || !slices.Equal(jsonOf(got), jsonOf(set.Groups[:600])) {
		t.Fatalf("%d interface messages, %d groups back; want >= 3 and the 600 in order", ifaces, len(got))
	}
}

// TestEncoderReuse: after Reset, a second set is framed alone, and Plain
// messages stay JSON through Compress.
func TestEncoderReuse(t *testing.T) {
	var e Encoder
	var subjects SubjectCache
	_, _ = e.Encode(interfaceSet(testResource("a", "sw1"), 48), &subjects, Legacy)
	e.Compress(CodecZstd)
	e.Reset()
	set := interfaceSet(testResource("b", "sw2"), 48)
	_, _ = e.Encode(set, &subjects, Legacy)
	msgs := e.Messages()
	if len(msgs) != 2 || msgs[0].Subject != "panoptes.metrics.b.interface" || msgs[0].Groups != 48 {
		t.Fatalf("after Reset: %+v", msgs)
	}
	msgs[0].Plain = true
	e.Compress(CodecZstd)
	if Compressed(e.Bytes(0)) {
		t.Fatal("a Plain message was compressed")
	}
	if gs, err := Decode(e.Bytes(0)); err != nil || !slices.Equal(jsonOf(gs), jsonOf(set.Groups[:48])) {
		t.Fatalf("Decode: %d groups, %v", len(gs), err)
	}
}
