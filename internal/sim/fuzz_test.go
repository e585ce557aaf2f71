package sim

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// FuzzRecording reads any text as a recording: snmpsim's .snmprec, net-snmp
// snmpwalk output, or a file whose format is sniffed from its first line.
// It either fails with an error that names the line (or the format) or gives
// a recording whose entries are in strict OID order with well-formed OID and
// value TLVs; written back as .snmprec (hex values), that recording reads
// as the same entries without warnings. FuzzHandle (agent_test.go) covers
// the agent's request decoding.
func FuzzRecording(f *testing.F) {
	for _, text := range []string{smallRec, snmprecTypesText, snmprecVariationsText} {
		f.Add([]byte(text), uint8(0))
		f.Add([]byte(text), uint8(2))
	}
	f.Add([]byte(walkFormatText), uint8(1))
	f.Add([]byte(walkFormatText), uint8(2))
	f.Add([]byte("1.3.6.1|4e|bad\\q\n1.3.6.1|64x|0a00\n"), uint8(0))
	f.Add([]byte(".1.3.6.1.2.1.1.1.0 = STRING: \"open\nstill open\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		path := [...]string{"fuzz.snmprec", "fuzz.snmpwalk", "fuzz"}[kind%3]
		r, err := readRecording(bytes.NewReader(data), path)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a recording", err)
			}
			if !recordingError.MatchString(err.Error()) {
				t.Fatalf("error %q names neither a line nor the format", err)
			}
			return
		}
		checkRecording(t, r)
		text := snmprecText(r)
		again, err := readRecording(strings.NewReader(text), "again.snmprec")
		if err != nil {
			t.Fatalf("recording written as .snmprec does not read back: %v\n%s", err, text)
		}
		if len(again.Warnings) != 0 {
			t.Fatalf("written recording reads with warnings %v", again.Warnings)
		}
		if got := snmprecText(again); got != text {
			t.Fatalf("round trip changed the recording:\n%s\nbecame\n%s", text, got)
		}
	})
}

// recordingError is the shape of readRecording's errors: a line number, a
// read or gzip failure, an unknown format, or no records at all.
var recordingError = regexp.MustCompile(`^(line \d+: |read: |gzip: |unknown format: |.*: no records$)`)

// checkRecording asserts a recording's invariants: strictly increasing
// OIDs, each entry's OID TLV holding its arcs, each value TLV well-formed
// with the entry's tag, and nothing outside the arenas.
func checkRecording(t *testing.T, r *Recording) {
	t.Helper()
	if r.Len() == 0 {
		t.Fatal("a recording without entries")
	}
	for i := range r.entries {
		e := &r.entries[i]
		arcs := r.oidArcs(e)
		if err := ber.CheckArcs(arcs); err != nil {
			t.Fatalf("entry %d: arcs %v: %v", i, arcs, err)
		}
		if i > 0 && ber.CompareArcs(r.oidArcs(&r.entries[i-1]), arcs) >= 0 {
			t.Fatalf("entry %d: %s does not follow %s", i, ber.FormatOID(arcs), ber.FormatOID(r.oidArcs(&r.entries[i-1])))
		}
		oid := r.oidTLV(e)
		s, end, ok := ber.Expect(oid, 0, ber.TagOID)
		if got, okArcs := ber.DecodeOID(nil, oid[s:end]); !ok || end != len(oid) || !okArcs || ber.CompareArcs(got, arcs) != 0 {
			t.Fatalf("entry %d: OID TLV % x does not hold %s", i, oid, ber.FormatOID(arcs))
		}
		v := r.valueTLV(e)
		if _, end, ok := ber.Expect(v, 0, e.tag); !ok || end != len(v) {
			t.Fatalf("entry %d (%s): value TLV % x is not one TLV of tag %#x", i, ber.FormatOID(arcs), v, e.tag)
		}
		if j := r.exact(arcs); j != i {
			t.Fatalf("exact(%s) = %d, want %d", ber.FormatOID(arcs), j, i)
		}
	}
}

// snmprecText writes r as snmprec lines with hex values, the encoding that
// carries any octets.
func snmprecText(r *Recording) string {
	var sb strings.Builder
	for i := range r.entries {
		e := &r.entries[i]
		v := r.valueTLV(e)
		_, s, end, _ := ber.ReadTLV(v, 0)
		tag := int(e.tag)
		if e.tag == ber.TagNull {
			fmt.Fprintf(&sb, "%s|%d|\n", ber.FormatOID(r.oidArcs(e)), tag)
			continue
		}
		fmt.Fprintf(&sb, "%s|%dx|%s\n", ber.FormatOID(r.oidArcs(e)), tag, hex.EncodeToString(v[s:end]))
	}
	return sb.String()
}
