package wire

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// TestMurmur2IsKafkas: the hash is Kafka's (values from Kafka's UtilsTest),
// so a resource's bus partition follows the same function as the Kafka
// sink's partitions.
func TestMurmur2IsKafkas(t *testing.T) {
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(Murmur2(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestPartitionOf: pinned values (a change would move every resource of
// every hub to another partition), in range, spread evenly enough.
func TestPartitionOf(t *testing.T) {
	for _, tc := range []struct {
		id   string
		n    int
		want int
	}{
		{"sw1", 9, 8},
		{"sw1", 3, 2},
		{"core1.example.com", 9, 4},
		{"sim-00042", 3, 2},
		{"core1.example.com", 1, 0},
		{"anything", 0, 0},
	} {
		if got := PartitionOf(tc.id, tc.n); got != tc.want {
			t.Errorf("PartitionOf(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.want)
		}
	}
	// Pinned: toPositive(murmur2) mod n.
	if got, want := PartitionOf("foobar", 9), int(int32(-790332482)&0x7fffffff)%9; got != want {
		t.Fatalf("PartitionOf(foobar, 9) = %d, want %d", got, want)
	}
	const n, devices = 9, 9000
	count := make([]int, n)
	for i := range devices {
		p := PartitionOf(fmt.Sprintf("sim-%05d", i), n)
		if p < 0 || p >= n {
			t.Fatalf("partition %d out of range", p)
		}
		count[p]++
	}
	for p, c := range count {
		if c < devices/n*8/10 || c > devices/n*12/10 {
			t.Errorf("partition %d holds %d of %d devices, want about %d: %v", p, c, devices, devices/n, count)
		}
	}
}

// TestStreamNames: names and tokens round-trip; generation 0 is the one
// stream of a bus without partitions; anything else is not a metrics
// stream.
func TestStreamNames(t *testing.T) {
	if got := Legacy.Streams(); !slices.Equal(got, []string{MetricsStream}) {
		t.Fatalf("generation 0 streams: %q", got)
	}
	l := Layout{Gen: 3, N: 4}
	want := []string{"PANOPTES_METRICS_G3_P0", "PANOPTES_METRICS_G3_P1", "PANOPTES_METRICS_G3_P2", "PANOPTES_METRICS_G3_P3"}
	if got := l.Streams(); !slices.Equal(got, want) {
		t.Fatalf("streams %q, want %q", got, want)
	}
	for p, name := range append(want, MetricsStream) {
		gen, part, ok := ParseStreamName(name)
		if name == MetricsStream {
			if !ok || gen != 0 || part != 0 {
				t.Errorf("ParseStreamName(%q) = %d, %d, %v", name, gen, part, ok)
			}
			continue
		}
		if !ok || gen != 3 || part != p {
			t.Errorf("ParseStreamName(%q) = %d, %d, %v", name, gen, part, ok)
		}
	}
	for _, bad := range []string{"", "PANOPTES_METRICS_G0_P1", "PANOPTES_METRICS_G1", "PANOPTES_METRICS_G1_P", "PANOPTES_METRICS_G01_P1",
		"PANOPTES_METRICS_G1_P-1", "PANOPTES_DEADLETTER", "KV_panoptes_members", "PANOPTES_METRICS_GX_P1"} {
		if _, _, ok := ParseStreamName(bad); ok {
			t.Errorf("ParseStreamName(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "g", "g1", "g1p", "p1", "g0p1", "g1p01", "g+1p1", "x1p1", "g1p1x"} {
		if _, _, ok := ParsePartitionToken(bad); ok {
			t.Errorf("ParsePartitionToken(%q) accepted", bad)
		}
	}
}

// TestLayoutSubjects: a partitioned layout puts the partition token last,
// so that the filters consumers used before partitions still match, and
// its streams' subjects never overlap another generation's.
func TestLayoutSubjects(t *testing.T) {
	l := Layout{Gen: 2, N: 9}
	p := l.Partition("sw1")
	s := l.Subject("dc1.ams", "interface", p)
	if want := fmt.Sprintf("panoptes.metrics.dc1_ams.interface.g2p%d", p); s != want {
		t.Fatalf("Subject = %q, want %q", s, want)
	}
	if got := Legacy.Subject("dc1.ams", "interface", 0); got != "panoptes.metrics.dc1_ams.interface" {
		t.Fatalf("generation 0 subject %q", got)
	}
	sub, err := ParseSubject(s)
	if err != nil || sub != (Subject{Kind: KindMetrics, Site: "dc1_ams", Type: "interface", Gen: 2, Part: p}) {
		t.Fatalf("ParseSubject(%q) = %+v, %v", s, sub, err)
	}
	for _, filter := range []string{AllMetrics, "panoptes.metrics.dc1_ams.>", "panoptes.metrics.*.interface.*"} {
		if !subjectMatches(filter, s) {
			t.Errorf("filter %q does not match %q", filter, s)
		}
	}
	if l.StreamSubject(p) != "panoptes.metrics.*.*.g2p"+fmt.Sprint(p) || Legacy.StreamSubject(0) != AllMetrics {
		t.Fatalf("stream subjects %q, %q", l.StreamSubject(p), Legacy.StreamSubject(0))
	}
	if subjectMatches(Layout{Gen: 3, N: 9}.StreamSubject(p), s) {
		t.Fatal("another generation's stream takes this subject")
	}
	for _, bad := range []string{"panoptes.metrics.a.b.c", "panoptes.metrics.a.b.g0p1", "panoptes.metrics.a.b.g1p1.x", "panoptes.events.a.b.g1p1"} {
		if _, err := ParseSubject(bad); !errors.Is(err, ErrSubject) {
			t.Errorf("ParseSubject(%q): %v", bad, err)
		}
	}
}

// TestHolds: a subject is of a layout when its token is that generation's
// and its partition exists.
func TestHolds(t *testing.T) {
	l := Layout{Gen: 2, N: 3}
	for s, want := range map[string]bool{
		"panoptes.metrics.a.b.g2p0": true, "panoptes.metrics.a.b.g2p2": true, "panoptes.metrics.a.b.g2p3": false,
		"panoptes.metrics.a.b.g1p0": false, "panoptes.metrics.a.b": false, "panoptes.events.a.b.g2p0": false,
		"panoptes.metrics.a.b.c.g2p0": false,
	} {
		if got := l.Holds(s); got != want {
			t.Errorf("%v holds %q: %v, want %v", l, s, got, want)
		}
	}
	if !Legacy.Holds("panoptes.metrics.a.b") || Legacy.Holds("panoptes.metrics.a.b.g1p0") {
		t.Fatal("generation 0 holds the subjects without a token, only")
	}
}

// TestWithPartitions: a sink's filter of a site and group type also takes
// those groups in partitioned streams; other filters stay as they are.
func TestWithPartitions(t *testing.T) {
	got := WithPartitions([]string{AllMetrics, "panoptes.metrics.s1.interface", "panoptes.metrics.*.cpu",
		"panoptes.metrics.s1.>", "panoptes.metrics.s1.interface.g1p0", "panoptes.metrics.*"})
	want := []string{AllMetrics, "panoptes.metrics.s1.interface", "panoptes.metrics.s1.interface.*",
		"panoptes.metrics.*.cpu", "panoptes.metrics.*.cpu.*", "panoptes.metrics.s1.>",
		"panoptes.metrics.s1.interface.g1p0", "panoptes.metrics.*"}
	if !slices.Equal(got, want) {
		t.Fatalf("WithPartitions = %q, want %q", got, want)
	}
}

// TestEncodePartitioned: in a partitioned layout a set's groups go to their
// resource's partition, one message per subject as before: a check (one
// resource) stays one message per group type.
func TestEncodePartitioned(t *testing.T) {
	l := Layout{Gen: 1, N: 9}
	ids := []string{"sw1", "sw2", "sw3", "sw4"}
	set := &metric.GroupSet{}
	for _, id := range ids {
		set.Groups = append(set.Groups, interfaceSet(testResource("lab", id), 2).Groups...)
	}
	var e Encoder
	var subjects SubjectCache
	if invalid, err := e.Encode(set, &subjects, l); invalid != 0 || err != nil {
		t.Fatal(invalid, err)
	}
	byPart := map[int]int{}
	for _, id := range ids {
		byPart[l.Partition(id)]++
	}
	if len(e.Messages()) != 2*len(byPart) {
		t.Fatalf("%d messages, want %d (two group types × %d partitions)", len(e.Messages()), 2*len(byPart), len(byPart))
	}
	for i, m := range e.Messages() {
		sub, err := ParseSubject(m.Subject)
		if err != nil || sub.Gen != 1 {
			t.Fatalf("message %d subject %q: %+v, %v", i, m.Subject, sub, err)
		}
		gs, err := Decode(e.Bytes(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if l.Partition(g.Resource.ID) != sub.Part || g.Type != sub.Type {
				t.Errorf("group of %s (%s) in message %s", g.Resource.ID, g.Type, m.Subject)
			}
		}
	}
}

// subjectMatches is NATS's matching of a concrete subject by a filter.
func subjectMatches(filter, subject string) bool {
	f, s := splitTokens(filter), splitTokens(subject)
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func splitTokens(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
