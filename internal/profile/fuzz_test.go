package profile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// FuzzParse reads any bytes as a profile. It yields a profile or errors,
// never both; every error is an *Error naming the file and, past the YAML
// syntax, a line inside the input; the same input gives the same errors
// (no map-order dependence); and a profile it accepts has the groups,
// names and OIDs the loader promises.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(shippedDir, "*.yaml"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(evalProfile))
	f.Add([]byte("name: x\ngroups:\n  - type: a\n    walk: {a: .1.3}\n    metrics: {m: &x a}\n    dimensions: {d: *x}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if (p == nil) == (err == nil) {
			t.Fatalf("profile %v with error %v", p != nil, err)
		}
		if err != nil {
			lines := strings.Count(string(data), "\n") + 1
			for _, e := range unjoin(err) {
				var pe *Error
				if !errors.As(e, &pe) || pe.File != "fuzz.yaml" || pe.Line < 0 || pe.Line > lines {
					t.Fatalf("error %q (%T) does not name the file and a line of %d", e, e, lines)
				}
			}
			if _, again := Parse("fuzz.yaml", data); again == nil || again.Error() != err.Error() {
				t.Fatalf("errors differ between two parses:\n%v\n%v", err, again)
			}
			return
		}
		if strings.TrimSpace(p.Name) == "" || len(p.Groups) == 0 {
			t.Fatalf("accepted a profile without a name or groups: %+v", p)
		}
		for _, g := range p.Groups {
			if !groupTypeRE.MatchString(g.Type) || len(g.Columns)+len(g.Scalars)+len(g.Lookups) == 0 {
				t.Fatalf("accepted group %+v", g)
			}
			for _, c := range append(append(append([]Column(nil), g.Columns...), g.Scalars...), g.Lookups...) {
				if !identRE.MatchString(c.Name) || reserved[c.Name] || !strings.HasPrefix(c.OID, ".") || !oidRE.MatchString(c.OID) {
					t.Fatalf("accepted column %+v", c)
				}
			}
			for _, m := range g.Metrics {
				if m.Program == nil {
					t.Fatalf("metric %s without a program", m.Name)
				}
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fuzzRows are the rows the expression fuzzer evaluates against: the edge
// values of every SNMP type evalProfile's columns may hold.
var fuzzRows = func() []snmp.Varbind {
	oid := func(col, idx string) string { return ".1.3.6.1.4.1.99.1." + col + "." + idx }
	return []snmp.Varbind{
		{Name: oid("1", "1.5"), Type: gosnmp.Counter64, Value: uint64(math.MaxUint64)},
		{Name: oid("1", "2.5"), Type: gosnmp.Counter64, Value: uint64(0)},
		{Name: oid("2", "1.5"), Type: gosnmp.Counter32, Value: uint(math.MaxUint32)},
		{Name: oid("2", "3.0.0.1"), Type: gosnmp.Counter32, Value: uint(0)},
		{Name: oid("3", "1.5"), Type: gosnmp.OctetString, Value: []byte("eth0\x00\xff")},
		{Name: oid("3", "2.5"), Type: gosnmp.OctetString, Value: []byte("")},
		{Name: oid("4", "1.5"), Type: gosnmp.Integer, Value: math.MinInt32},
		{Name: oid("4", "2.5"), Type: gosnmp.Integer, Value: 2},
	}
}()

// FuzzExpression puts any expression into evalProfile as a metric and as a
// dimension. It either fails to load with an error naming the field, or
// evaluates against edge values without panicking, and every group it
// produces is one the bus accepts: it validates and its JSON decodes.
func FuzzExpression(f *testing.F) {
	for _, src := range []string{"octets * 8", "errors / 2", `oper_state[string(state)] ?? "unknown"`, "index_parts[0]",
		"name + 1", "ascii(index_parts[1:])", "len(name) > 3 ? 1 : 0", "float(octets) / 0", "-octets", "1..1000000",
		`name matches "^eth"`, "delta(octets)", "int(name)", "state ?? 0", "map(1..10, # * errors)"} {
		f.Add(src, false)
		f.Add(src, true)
	}
	res := &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "t", ID: "r", Endpoint: "e"}
	f.Fuzz(func(t *testing.T, src string, asDimension bool) {
		quoted := yamlQuote(src)
		field := "groups[0].metrics.fuzz"
		text := strings.Replace(evalProfile, "      ratio: errors / 2\n", "      fuzz: "+quoted+"\n", 1)
		if asDimension {
			field = "groups[0].dimensions.fuzz"
			text = strings.Replace(evalProfile, "      slot: index_parts[0]\n", "      fuzz: "+quoted+"\n", 1)
		}
		p, err := Parse("fuzz.yaml", []byte(text))
		if err != nil {
			var pe *Error
			if errs := unjoin(err); len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Field != field || pe.Line == 0 {
				t.Fatalf("%q: error %v does not name %s and its line", src, err, field)
			}
			return
		}
		gs, _ := p.Evaluate(context.Background(), &fakeAgent{vbs: fuzzRows}, &Request{Resource: res, Interval: 60, Created: 1})
		for _, g := range gs {
			if err := g.Validate(); err != nil {
				t.Fatalf("%q: group %+v does not validate: %v", src, g, err)
			}
			if _, err := metric.Decode(metric.AppendJSON(nil, g)); err != nil {
				t.Fatalf("%q: group's JSON does not decode: %v", src, err)
			}
		}
	})
}

// yamlQuote writes s as a YAML double-quoted scalar, escaping everything
// outside printable ASCII (YAML refuses raw control characters, DEL and C1).
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
