package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// FuzzMessage reads any bytes as a bus message, the way a sink does. Decode
// fails with ErrDamaged or a group's decode error, or it returns one group
// per line Groups yields (GroupCount of them), each what metric.Decode
// makes of that line; a Reader yields Decompress's payload. What decodes,
// framed again by the Encoder (plain and compressed), decodes to the same
// groups in the same order per subject. FuzzDecompress (compress_test.go)
// covers the S2 layer alone.
func FuzzMessage(f *testing.F) {
	r := testResource("dc1.ams west", "sw1")
	set := interfaceSet(r, 3)
	var e Encoder
	var subjects SubjectCache
	if _, err := e.Encode(set, &subjects, Legacy); err != nil {
		f.Fatal(err)
	}
	for i := range e.Messages() {
		f.Add(append([]byte(nil), e.Bytes(i)...))
	}
	e.Compress(CodecZstd)
	big := interfaceSet(r, 48)
	e.Reset()
	if _, err := e.Encode(big, &subjects, Legacy); err != nil {
		f.Fatal(err)
	}
	e.Compress(CodecZstd)
	for i := range e.Messages() {
		f.Add(append([]byte(nil), e.Bytes(i)...))
	}
	f.Add([]byte("\n \n" + string(metric.AppendJSON(nil, set.Groups[0])) + "\n\n"))
	f.Add([]byte(`{"metrics_group_type":"x"}` + "\n" + `{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, err := Decode(data)
		var reader Reader
		payload, perr := reader.Payload(data)
		plain, derr := Decompress(nil, data)
		if (perr == nil) != (derr == nil) || perr == nil && !bytes.Equal(payload, plain) {
			t.Fatalf("Reader.Payload (%v) and Decompress (%v) disagree", perr, derr)
		}
		if err != nil {
			if groups != nil {
				t.Fatalf("groups with error %v", err)
			}
			var de *metric.DecodeError
			if !errors.Is(err, ErrDamaged) && !errors.As(err, &de) && !errors.Is(err, metric.ErrInvalid) {
				t.Fatalf("error %v (%T) is neither damage nor a group's decode error", err, err)
			}
			return
		}
		if n := GroupCount(data); n != len(groups) {
			t.Fatalf("Decode: %d groups, GroupCount: %d", len(groups), n)
		}
		i := 0
		for line := range Groups(data) {
			g, err := metric.Decode(line)
			if err != nil || !bytes.Equal(metric.AppendJSON(nil, g), metric.AppendJSON(nil, groups[i])) {
				t.Fatalf("line %d: %v, or not the group Decode returned", i, err)
			}
			i++
		}
		for _, compress := range []bool{false, true} {
			checkReframed(t, groups, compress)
		}
	})
}

// checkReframed frames groups with an Encoder and decodes every message:
// each subject's groups come back in order, each message within the size
// bound but for its last group.
func checkReframed(t *testing.T, groups []*metric.Group, compress bool) {
	t.Helper()
	var e Encoder
	var subjects SubjectCache
	invalid, err := e.Encode(&metric.GroupSet{Groups: groups}, &subjects, Legacy)
	want := map[string][]string{}
	for _, g := range groups {
		if g.Resource != nil {
			s := MetricsSubject(g.Resource.Site, g.Type)
			want[s] = append(want[s], string(metric.AppendJSON(nil, g)))
		}
	}
	if nilRes := len(groups) - countResources(groups); invalid != nilRes || (err != nil) != (nilRes > 0) {
		t.Fatalf("Encode left out %d groups (%v); %d have no resource", invalid, err, nilRes)
	}
	if compress {
		e.Compress(CodecZstd)
	}
	got := map[string][]string{}
	for i, m := range e.Messages() {
		if _, err := ParseSubject(m.Subject); err != nil {
			t.Fatalf("Encoder's subject %q does not parse: %v", m.Subject, err)
		}
		gs, err := Decode(e.Bytes(i))
		if err != nil || len(gs) != m.Groups {
			t.Fatalf("message %d (%s, %d groups, compress %v) decodes to %d groups: %v", i, m.Subject, m.Groups, compress, len(gs), err)
		}
		for _, g := range gs {
			got[m.Subject] = append(got[m.Subject], string(metric.AppendJSON(nil, g)))
		}
	}
	for s, w := range want {
		if strings.Join(got[s], "\n") != strings.Join(w, "\n") {
			t.Fatalf("subject %s: framed and decoded again, %d groups differ from the %d framed", s, len(got[s]), len(w))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d subjects out, %d in", len(got), len(want))
	}
}

func countResources(groups []*metric.Group) int {
	n := 0
	for _, g := range groups {
		if g.Resource != nil {
			n++
		}
	}
	return n
}

// FuzzSubject: a subject ParseSubject accepts is the one MetricsSubject,
// Layout.Subject or EventsSubject builds from its parts; the subject built
// from any site and type, with and without a partition token, parses back
// to their tokens.
func FuzzSubject(f *testing.F) {
	f.Add("panoptes.metrics.s1.interface", "dc1.ams west", "cpu")
	f.Add("panoptes.events.s1.bgp_down", "", "a*b>c\x00\xff")
	f.Add("panoptes.metrics.s1.*", "s", "t")
	f.Add("panoptes.metrics.s1.interface.g2p7", "s", "t")
	f.Add("panoptes.metrics.s1.interface.g0p1", "s", "t")
	f.Fuzz(func(t *testing.T, subject, site, typ string) {
		if sub, err := ParseSubject(subject); err == nil {
			build := MetricsSubject
			if sub.Kind == KindEvents {
				build = EventsSubject
			}
			if sub.Gen > 0 {
				build = func(site, typ string) string {
					return Layout{Gen: sub.Gen, N: sub.Part + 1}.Subject(site, typ, sub.Part)
				}
			}
			if again := build(sub.Site, sub.Type); again != subject {
				t.Fatalf("%q parses to %+v, which builds %q", subject, sub, again)
			}
		} else if !errors.Is(err, ErrSubject) {
			t.Fatalf("error %v does not wrap ErrSubject", err)
		}
		s := MetricsSubject(site, typ)
		sub, err := ParseSubject(s)
		if err != nil || sub.Kind != KindMetrics || sub.Site != Token(site) || sub.Type != Token(typ) {
			t.Fatalf("MetricsSubject(%q, %q) = %q parses to %+v, %v", site, typ, s, sub, err)
		}
		if !IsMetricsFilter(s) {
			t.Fatalf("%q is not a metrics filter", s)
		}
		l := Layout{Gen: 3, N: 9}
		p := l.Partition(site)
		ps := l.Subject(site, typ, p)
		sub, err = ParseSubject(ps)
		if err != nil || sub.Site != Token(site) || sub.Type != Token(typ) || sub.Gen != 3 || sub.Part != p {
			t.Fatalf("partitioned subject %q parses to %+v, %v", ps, sub, err)
		}
	})
}
