package sim

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// value returns entry oid's static value TLV content, for assertions.
func value(t *testing.T, r *Recording, oid string) (byte, []byte) {
	t.Helper()
	arcs, err := ber.ParseOID(oid)
	if err != nil {
		t.Fatal(err)
	}
	i := r.exact(arcs)
	if i < 0 {
		t.Fatalf("%s: %s missing", r.Name, oid)
	}
	v := r.valueTLV(&r.entries[i])
	_, s, e, _ := ber.ReadTLV(v, 0)
	return r.entries[i].tag, v[s:e]
}

// Recordings the tests below read, and FuzzRecording's seeds.
const (
	snmprecTypesText = `# a comment
1.3.6.1.2.1.1.1.0|4|plain text
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.516
1.3.6.1.2.1.1.3.0|67|697202257
1.3.6.1.2.1.1.4.0|4|
1.3.6.1.2.1.1.5.0|4x|50726f66696c6572
1.3.6.1.2.1.1.6.0|4e|tab\there\x00\\
1.3.6.1.2.1.1.7.0|2|-6
1.3.6.1.2.1.2.2.1.5.1|66|4294967295
1.3.6.1.2.1.2.2.1.10.1|65|123
1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1
1.3.6.1.2.1.4.20.1.1.10.0.0.2|64x|0a000002
1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615
1.3.6.1.4.1.1.1|5|
1.3.6.1.4.1.1.2|68x|9f780441200000
`
	snmprecVariationsText = `1.3.6.1.2.1.2.2.1.1.1|2:delay|value=1
1.3.6.1.2.1.2.2.1.6.1|4:delay|hexvalue=00127962f940,wait=800
1.3.6.1.2.1.2.2.1.3.1|2:numeric|min=1,max=5
1.3.6.1.2.1.1.5.0|4|first
1.3.6.1.2.1.1.5.0|4|second
`
	walkFormatText = ".1.3.6.1.2.1.1.1.0 = STRING: \"Cisco IOS Software, C3750\r\nTechnical Support: \\\"quoted\\\"\r\nend\"\n" +
		`.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.516
.1.3.6.1.2.1.1.3.0 = Timeticks: (697202257) 80 days, 16:40:22.57
.1.3.6.1.2.1.1.4.0 = ""
.1.3.6.1.2.1.1.5.0 = Hex-STRING: 50 72 6F 66 69 6C 65 72 33 37 35 30 00 01 02 03 
04 05 
.1.3.6.1.2.1.1.7.0 = INTEGER: 6
.1.3.6.1.2.1.1.8.0 = 0
.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: ethernetCsmacd(6)
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 1000000000
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 3146057210
.1.3.6.1.2.1.4.13.0 = INTEGER: 60 seconds
iso.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1
.1.3.6.1.2.1.4.20.1.1.10.0.0.2 = Network Address: 0A:00:00:02
.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615
.1.3.6.1.2.1.31.1.1.1.18.1 = STRING: 
.1.3.6.1.4.1.1.1 = NULL
.1.3.6.1.4.1.1.2 = Opaque: Float: 10.000000
.1.3.6.1.4.1.1.3 = BITS: 80 40 linkDown(0) up(9)
.1.3.6.1.4.1.1.4 = Wrong Type (should be INTEGER): STRING: "x"
.1.3.6.1.4.1.1.5 = No Such Instance currently exists at this OID
.1.3.6.1.4.1.1.6 = Unsigned32: 7
.1.3.6.1.4.1.1.6 = No more variables left in this MIB View (It is past the end of the MIB tree)
`
)

func TestSnmprecTypes(t *testing.T) {
	r := mustRecording(t, "all.snmprec", snmprecTypesText)
	want := []struct {
		oid string
		tag byte
		val []byte
	}{
		{"1.3.6.1.2.1.1.1.0", ber.TagOctetString, []byte("plain text")},
		{"1.3.6.1.2.1.1.2.0", ber.TagOID, ber.AppendOID(nil, []uint32{1, 3, 6, 1, 4, 1, 9, 1, 516})},
		{"1.3.6.1.2.1.1.4.0", ber.TagOctetString, []byte{}},
		{"1.3.6.1.2.1.1.5.0", ber.TagOctetString, []byte("Profiler")},
		{"1.3.6.1.2.1.1.6.0", ber.TagOctetString, []byte("tab\there\x00\\")},
		{"1.3.6.1.2.1.1.7.0", ber.TagInteger, []byte{0xfa}},
		{"1.3.6.1.2.1.2.2.1.5.1", ber.TagGauge32, []byte{0, 0xff, 0xff, 0xff, 0xff}},
		{"1.3.6.1.2.1.4.20.1.1.10.0.0.1", ber.TagIPAddress, []byte{10, 0, 0, 1}},
		{"1.3.6.1.2.1.4.20.1.1.10.0.0.2", ber.TagIPAddress, []byte{10, 0, 0, 2}},
		{"1.3.6.1.4.1.1.1", ber.TagNull, []byte{}},
		{"1.3.6.1.4.1.1.2", ber.TagOpaque, []byte{0x9f, 0x78, 0x04, 0x41, 0x20, 0, 0}},
	}
	for _, w := range want {
		tag, v := value(t, r, w.oid)
		if tag != w.tag || !bytes.Equal(v, w.val) {
			t.Errorf("%s = tag %#x % x, want tag %#x % x", w.oid, tag, v, w.tag, w.val)
		}
	}
	// living values keep their recorded base
	for oid, base := range map[string]uint64{"1.3.6.1.2.1.1.3.0": 697202257, "1.3.6.1.2.1.2.2.1.10.1": 123, "1.3.6.1.2.1.31.1.1.1.6.1": 1<<64 - 1} {
		arcs, _ := ber.ParseOID(oid)
		if e := r.entries[r.exact(arcs)]; e.base != base || e.class == classStatic {
			t.Errorf("%s: base %d class %d", oid, e.base, e.class)
		}
	}
	if r.Len() != 14 || len(r.Warnings) != 0 {
		t.Errorf("len %d, warnings %v", r.Len(), r.Warnings)
	}
}

func TestSnmprecVariationsAndDuplicates(t *testing.T) {
	r := mustRecording(t, "var.snmprec", snmprecVariationsText)
	if _, v := value(t, r, "1.3.6.1.2.1.2.2.1.1.1"); !bytes.Equal(v, []byte{1}) {
		t.Errorf("delay value= → % x", v)
	}
	if _, v := value(t, r, "1.3.6.1.2.1.2.2.1.6.1"); !bytes.Equal(v, []byte{0, 0x12, 0x79, 0x62, 0xf9, 0x40}) {
		t.Errorf("delay hexvalue= → % x", v)
	}
	if _, v := value(t, r, "1.3.6.1.2.1.1.5.0"); string(v) != "second" {
		t.Errorf("duplicate: %q, want the later record", v)
	}
	if r.Len() != 3 {
		t.Errorf("len %d, want 3 (numeric without value= skipped)", r.Len())
	}
	joined := strings.Join(r.Warnings, "\n")
	for _, w := range []string{`line 1: 1.3.6.1.2.1.2.2.1.1.1: variation module "delay" ignored`, `line 3:`, `"numeric" has no value=`, "line 5: duplicate OID .1.3.6.1.2.1.1.5.0 replaces line 4"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
}

func TestSnmprecErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"1.3.6.1|4\n", "line 1: want OID|TAG|VALUE"},
		{"1.3.6.1|4|a\nx.3|4|b\n", `line 2: OID "x.3": arc "x"`},
		{"1.3.6.1|99|a\n", `line 1: unknown tag "99"`},
		{"1.3.6.1|2|12x\n", "line 1: 1.3.6.1: Integer32"},
		{"1.3.6.1|2|4294967296\n", "Integer32"},
		{"1.3.6.1|65|-1\n", "Counter32: want 0..4294967295"},
		{"1.3.6.1|4x|zz\n", "value is not hex"},
		{"1.3.6.1|64|10.0.0\n", "IpAddress"},
		{"1.3.6.1|64x|0a00\n", "want 4 octets"},
		{"1.3.6.1|6|1.3.x\n", `line 1: 1.3.6.1: OID "1.3.x"`},
		{"1.3.6.1|4e|bad\\q\n", `unknown escape \q`},
		{"# only a comment\n", "no records"},
	} {
		_, err := readRecording(strings.NewReader(c.text), "bad.snmprec")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

func TestWalkFormat(t *testing.T) {
	text := walkFormatText
	r := mustRecording(t, "dev.snmpwalk", text)
	for oid, want := range map[string]struct {
		tag byte
		val string
	}{
		"1.3.6.1.2.1.1.1.0":             {ber.TagOctetString, "Cisco IOS Software, C3750\r\nTechnical Support: \"quoted\"\r\nend"},
		"1.3.6.1.2.1.1.4.0":             {ber.TagOctetString, ""},
		"1.3.6.1.2.1.1.5.0":             {ber.TagOctetString, "Profiler3750\x00\x01\x02\x03\x04\x05"},
		"1.3.6.1.2.1.1.7.0":             {ber.TagInteger, "\x06"},
		"1.3.6.1.2.1.1.8.0":             {ber.TagTimeTicks, "\x00"},
		"1.3.6.1.2.1.2.2.1.3.1":         {ber.TagInteger, "\x06"},
		"1.3.6.1.2.1.4.13.0":            {ber.TagInteger, "\x3c"},
		"1.3.6.1.2.1.4.20.1.1.10.0.0.1": {ber.TagIPAddress, "\x0a\x00\x00\x01"},
		"1.3.6.1.2.1.4.20.1.1.10.0.0.2": {ber.TagIPAddress, "\x0a\x00\x00\x02"},
		"1.3.6.1.2.1.31.1.1.1.18.1":     {ber.TagOctetString, ""},
		"1.3.6.1.4.1.1.1":               {ber.TagNull, ""},
		"1.3.6.1.4.1.1.2":               {ber.TagOpaque, "\x9f\x78\x04\x41\x20\x00\x00"},
		"1.3.6.1.4.1.1.3":               {ber.TagOctetString, "\x80\x40"},
		"1.3.6.1.4.1.1.4":               {ber.TagOctetString, "x"},
		"1.3.6.1.4.1.1.6":               {ber.TagGauge32, "\x07"},
	} {
		tag, v := value(t, r, oid)
		if tag != want.tag || string(v) != want.val {
			t.Errorf("%s = %#x %q, want %#x %q", oid, tag, v, want.tag, want.val)
		}
	}
	arcs, _ := ber.ParseOID("1.3.6.1.2.1.31.1.1.1.6.1")
	if e := r.entries[r.exact(arcs)]; e.tag != ber.TagCounter64 || e.base != 1<<64-1 {
		t.Errorf("Counter64: tag %#x base %d", e.tag, e.base)
	}
	if r.Len() != 20 {
		t.Errorf("len %d, want 20 (No Such lines skipped)", r.Len())
	}
	for _, c := range []struct{ text, want string }{
		{".1.3.6.1.2.1.1.1.0 = STRING: x\ngarbage here\n", `line 2: not an snmpwalk line "garbage here"`},
		{"SNMPv2-MIB::sysDescr.0 = STRING: x\n", "line 1: not an snmpwalk line"},
		{".1.3.6.1.2.1.1.2.0 = OID: SNMPv2-SMI::enterprises.9\n", "record with snmpwalk -On"},
		{".1.3.6.1.2.1.1.7.0 = INTEGER: many\n", "line 1: 1.3.6.1.2.1.1.7.0: INTEGER"},
		{".1.3.6.1.2.1.1.7.0 = Weird: 1\n", `unknown type "Weird"`},
	} {
		_, err := readRecording(strings.NewReader(c.text), "bad.snmpwalk")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// TestLoadRecordingFiles: gzip by content, format by extension or by the
// first line, and snmpsim's shipped examples.
func TestLoadRecordingFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	rec := "1.3.6.1.2.1.1.5.0|4|a\n"
	walk := ".1.3.6.1.2.1.1.5.0 = STRING: \"a\"\n"
	for _, p := range []string{
		write("a.snmprec", []byte(rec)), write("b.snmprec.gz", gz(rec)), write("c.dat", gz(rec)),
		write("d.snmpwalk", []byte(walk)), write("e.txt.gz", gz(walk)), write("f", []byte(walk)),
	} {
		r, err := LoadRecording(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if _, v := value(t, r, "1.3.6.1.2.1.1.5.0"); string(v) != "a" {
			t.Errorf("%s: %q", p, v)
		}
	}
	if r, err := LoadRecording(filepath.Join(dir, "b.snmprec.gz")); err != nil || r.Name != "b" {
		t.Errorf("name of b.snmprec.gz: %v %v", r, err)
	}
	if _, err := LoadRecording(write("g.bin", []byte("what is this\n"))); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := LoadRecording(filepath.Join(dir, "missing.snmprec")); err == nil || !strings.Contains(err.Error(), "missing.snmprec") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := resolveTemplate("no-such-template"); err == nil || !strings.Contains(err.Error(), "switch48") {
		t.Errorf("unknown template: %v", err)
	}
}

func TestLoadSnmpsimExamples(t *testing.T) {
	p := filepath.Join(SnmpsimExamples, "cisco_16_switch.snmprec.gz")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing (CI=true: install the snmpsim package)", p)
		}
		t.Skipf("%s missing; install the snmpsim package", p)
	}
	r, err := resolveTemplate("cisco_16_switch")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 51008 || r.Vendor() != "cisco" || r.Model() != "WS-C3750-48PS-S" {
		t.Errorf("cisco_16_switch: %d entries, vendor %s, model %s", r.Len(), r.Vendor(), r.Model())
	}
	w, err := LoadRecording(filepath.Join(SnmpsimExamples, "foreignformats", "linux.snmpwalk.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() < 100 || w.Vendor() != "netsnmp" {
		t.Errorf("linux.snmpwalk: %d entries, vendor %s", w.Len(), w.Vendor())
	}
}

func TestBuiltins(t *testing.T) {
	for name, want := range map[string]struct {
		ifaces       int
		vendor, name string
	}{"switch48": {55, "cisco", "WS-C2960X-48TS-L"}, "router400": {400, "juniper", "MX960"}} {
		r := builtins[name]()
		if r != builtins[name]() {
			t.Errorf("%s built twice", name)
		}
		_, v := value(t, r, "1.3.6.1.2.1.2.1.0")
		if n, _ := ber.DecodeUint(v); int(n) != want.ifaces {
			t.Errorf("%s: ifNumber %d, want %d", name, n, want.ifaces)
		}
		if r.Vendor() != want.vendor || r.Model() != want.name || r.nameIdx < 0 {
			t.Errorf("%s: vendor %s model %s nameIdx %d", name, r.Vendor(), r.Model(), r.nameIdx)
		}
		// every interface has the ifTable, ifXTable columns the interface plugin reads
		for _, col := range []string{"1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.2.2.1.8.", "1.3.6.1.2.1.31.1.1.1.1.", "1.3.6.1.2.1.31.1.1.1.6.", "1.3.6.1.2.1.31.1.1.1.18."} {
			n := 0
			for _, o := range r.oids() {
				if strings.HasPrefix(o, "."+col) {
					n++
				}
			}
			if n != want.ifaces {
				t.Errorf("%s: %d rows of %s, want %d", name, n, col, want.ifaces)
			}
		}
	}
	if _, v := value(t, builtins["switch48"](), "1.3.6.1.2.1.31.1.1.1.1.10101"); string(v) != "Gi1/0/1" {
		t.Errorf("switch48 ifName.10101 = %q", v)
	}
}

func TestMissingTag(t *testing.T) {
	r := mustRecording(t, "m.snmprec", `1.3.6.1.2.1.1.5.0|4|x
1.3.6.1.2.1.2.2.1.2.1|4|a
1.3.6.1.2.1.2.2.1.2.2|4|b
`)
	for oid, want := range map[string]byte{
		"1.3.6.1.2.1.1.5.1":       ber.TagNoSuchInstance, // wrong instance of a scalar
		"1.3.6.1.2.1.1.5":         ber.TagNoSuchInstance, // the object itself
		"1.3.6.1.2.1.2.2.1.2.999": ber.TagNoSuchInstance, // missing row
		"1.3.6.1.2.1.2.2.1.2":     ber.TagNoSuchInstance, // the column
		"1.3.6.1.2.1.99.1":        ber.TagNoSuchObject,   // unknown object
		"1.3.6.1.2.1.1":           ber.TagNoSuchObject,   // a group
		"1.3":                     ber.TagNoSuchObject,
		"1.3.6.1.2.1.2.2.1.99.1":  ber.TagNoSuchObject, // unknown column
	} {
		arcs, _ := ber.ParseOID(oid)
		if got := r.missingTag(arcs); got != want {
			t.Errorf("%s: %#x, want %#x", oid, got, want)
		}
	}
}
