package enrich

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// TestTableRoundTrip: a cached column, through JSON (the KV value), gives
// back the varbinds the walk returned, with their SNMP types.
func TestTableRoundTrip(t *testing.T) {
	const root = ".1.3.6.1.2.1.47.1.1.1.1.7"
	walk := []snmp.Varbind{
		{Name: root + ".1", Type: gosnmp.OctetString, Value: []byte("Chassis\x00")},
		{Name: root + ".2", Type: gosnmp.OctetString, Value: []byte{0xff, 0x00, 0x41}}, // not UTF-8: kept byte for byte
		{Name: root + ".3.1", Type: gosnmp.Integer, Value: -7},
		{Name: root + ".4", Type: gosnmp.Counter64, Value: uint64(1) << 63},
		{Name: root + ".5", Type: gosnmp.Gauge32, Value: uint(4000000000)},
		{Name: root + ".6", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9"},
		{Name: root + ".7", Type: gosnmp.IPAddress, Value: "10.0.0.1"},
		{Name: root + ".8", Type: gosnmp.OpaqueFloat, Value: float32(1.5)},
		{Name: root + ".9", Type: gosnmp.NoSuchInstance},
		{Name: ".1.3.6.1.2.1.47.1.1.1.1.8.1", Type: gosnmp.OctetString, Value: []byte("next column")},
	}
	d := &Device{Tables: buildTables([]string{root}, [][]snmp.Varbind{walk})}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Device
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, ok := back.Table(root)
	if !ok {
		t.Fatal("table missing after the round trip")
	}
	want := walk[:8]
	if len(got) != len(want) {
		t.Fatalf("%d varbinds, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Type != w.Type {
			t.Errorf("%d: %s %v, want %s %v", i, g.Name, g.Type, w.Name, w.Type)
			continue
		}
		switch w.Type {
		case gosnmp.OctetString, gosnmp.ObjectIdentifier, gosnmp.IPAddress, gosnmp.OpaqueFloat:
			if !reflect.DeepEqual(g.Value, w.Value) {
				t.Errorf("%s: %#v, want %#v", g.Name, g.Value, w.Value)
			}
		default:
			if gosnmp.ToBigInt(g.Value).Cmp(gosnmp.ToBigInt(w.Value)) != 0 {
				t.Errorf("%s: %v, want %v", g.Name, g.Value, w.Value)
			}
		}
	}
	if _, ok := back.Table(".1.3.6.1.2.1.47.1.1.1.1.2"); ok {
		t.Error("a column never collected reads as present")
	}
}

func TestNeed(t *testing.T) {
	a := Need{Tables: []string{".1.3.7", ".1.3.5"}}
	b := Need{Interfaces: true, Tables: []string{".1.3.5"}}
	m := a.Merge(b)
	if !m.Interfaces || !slices.Equal(m.Tables, []string{".1.3.5", ".1.3.7"}) {
		t.Errorf("merge: %+v", m)
	}
	if !(Need{}).Empty() || m.Empty() {
		t.Error("Empty")
	}
	d := &Device{HaveInterfaces: true, Tables: NewTables(map[string][]Cell{".1.3.5": nil})}
	for _, c := range []struct {
		n    Need
		want bool
	}{
		{Need{}, true},
		{Need{Interfaces: true}, true},
		{Need{Tables: []string{".1.3.5"}}, true},
		{m, false},
	} {
		if got := d.Covers(c.n); got != c.want {
			t.Errorf("Covers(%+v) = %v, want %v", c.n, got, c.want)
		}
	}
}
