package enrich

import (
	"encoding/json"
	"hash/maphash"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// legacyRecord is a KV value as the code before the compact layout wrote
// it (json.Marshal of a Device whose Interfaces were map[uint32]*Interface
// and Tables map[string][]Cell): keys in string order, HTML escaped,
// ifType and ifHighSpeed beyond 32 bits on ifIndex 5.
const legacyRecord = `{"resource":"dc1|network|switch|cisco|sw1","sys_name":"sw1","sys_object_id":".1.3.6.1.4.1.9.1.1208","uptime":123456,"if_table_last_change":789,"have_if_table_last_change":true,"collected_at":"2025-01-02T03:04:05Z","fresh_until":"2025-01-02T03:34:05Z","have_interfaces":true,"interfaces":{"1":{"descr":"Vlan1","name":"Vl1","alias":"management","type":53,"speed":1000000000,"high_speed":1000,"have":63},"10101":{"descr":"GigabitEthernet1/0/1","name":"Gi1/0/1","type":6,"speed":1000000000,"high_speed":1000,"have":63},"10102":{"descr":"GigabitEthernet1/0/2","name":"Gi1/0/2","type":6,"speed":100000000,"have":27},"5":{"descr":"\u003codd \u0026 \"quoted\"\u003e","type":1099511627776,"high_speed":8589934592,"have":41}},"tables":{".1.3.6.1.2.1.25.3.2.1.3":[],".1.3.6.1.2.1.47.1.1.1.1.5":[{"i":"1","t":2,"n":3},{"i":"2","t":2,"n":-7}],".1.3.6.1.2.1.47.1.1.1.1.7":[{"i":"1","t":4,"b":"Q2hhc3Npcw=="},{"i":"1001","t":4,"b":"/wA="},{"i":"1002","t":4}]}}`

// legacyEmptyRecord is an empty Device as that code wrote it.
const legacyEmptyRecord = `{"resource":"","uptime":0,"if_table_last_change":0,"collected_at":"0001-01-01T00:00:00Z","interfaces":null}`

const all = HaveDescr | HaveName | HaveAlias | HaveType | HaveSpeed | HaveHighSpeed

// legacyInterfaces are legacyRecord's interfaces.
var legacyInterfaces = map[uint32]Interface{
	1:     {Descr: "Vlan1", Name: "Vl1", Alias: "management", Type: 53, Speed: 1e9, HighSpeed: 1000, Have: all},
	10101: {Descr: "GigabitEthernet1/0/1", Name: "Gi1/0/1", Type: 6, Speed: 1e9, HighSpeed: 1000, Have: all},
	10102: {Descr: "GigabitEthernet1/0/2", Name: "Gi1/0/2", Type: 6, Speed: 1e8, Have: HaveDescr | HaveName | HaveType | HaveSpeed},
	5:     {Descr: `<odd & "quoted">`, Type: 1 << 40, HighSpeed: 1 << 33, Have: HaveDescr | HaveType | HaveHighSpeed},
}

// legacyDevice decodes JSON as the code before the compact layout did:
// what this code writes must stay readable by nodes still running it.
type legacyDevice struct {
	Resource       string                `json:"resource"`
	SysObjectID    string                `json:"sys_object_id,omitempty"`
	HaveInterfaces bool                  `json:"have_interfaces,omitempty"`
	FreshUntil     time.Time             `json:"fresh_until,omitzero"`
	Interfaces     map[uint32]*Interface `json:"interfaces"`
	Tables         map[string][]Cell     `json:"tables,omitempty"`
}

func TestDecodeLegacyRecord(t *testing.T) {
	var d Device
	if err := json.Unmarshal([]byte(legacyRecord), &d); err != nil {
		t.Fatal(err)
	}
	if d.Resource != "dc1|network|switch|cisco|sw1" || !d.HaveInterfaces || d.SysObjectID != ".1.3.6.1.4.1.9.1.1208" {
		t.Errorf("device fields: %+v", d)
	}
	if d.Interfaces.Len() != len(legacyInterfaces) {
		t.Errorf("%d interfaces, want %d", d.Interfaces.Len(), len(legacyInterfaces))
	}
	for idx, want := range legacyInterfaces {
		if got, ok := d.Interfaces.Get(idx); !ok || got != want {
			t.Errorf("ifIndex %d: %+v %v, want %+v", idx, got, ok, want)
		}
	}
	for _, idx := range []uint32{0, 2, 4, 6, 10100, 10103, math.MaxUint32} {
		if got, ok := d.Interfaces.Get(idx); ok {
			t.Errorf("ifIndex %d, which the record lacks: %+v", idx, got)
		}
	}
	if !d.Covers(Need{Interfaces: true, Tables: []string{".1.3.6.1.2.1.25.3.2.1.3", ".1.3.6.1.2.1.47.1.1.1.1.5", ".1.3.6.1.2.1.47.1.1.1.1.7"}}) {
		t.Error("the record's tables (one empty) are not all covered")
	}
	names, _ := d.Table(".1.3.6.1.2.1.47.1.1.1.1.7")
	want := []snmp.Varbind{
		{Name: ".1.3.6.1.2.1.47.1.1.1.1.7.1", Type: gosnmp.OctetString, Value: []byte("Chassis")},
		{Name: ".1.3.6.1.2.1.47.1.1.1.1.7.1001", Type: gosnmp.OctetString, Value: []byte{0xff, 0}},
		{Name: ".1.3.6.1.2.1.47.1.1.1.1.7.1002", Type: gosnmp.OctetString, Value: []byte{}},
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entPhysicalName: %#v, want %#v", names, want)
	}
	classes, _ := d.Table(".1.3.6.1.2.1.47.1.1.1.1.5")
	if len(classes) != 2 || classes[1].Value != -7 || classes[1].Name != ".1.3.6.1.2.1.47.1.1.1.1.5.2" {
		t.Errorf("entPhysicalClass: %+v", classes)
	}

	var empty Device
	if err := json.Unmarshal([]byte(legacyEmptyRecord), &empty); err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Interfaces.Get(1); ok || empty.Interfaces.Len() != 0 || empty.Tables.Len() != 0 {
		t.Errorf("empty record: %+v", empty)
	}
}

// TestRecordReadableByLegacyCode: what this code writes decodes, with the
// old types, to the same data, and back into a Device unchanged.
func TestRecordReadableByLegacyCode(t *testing.T) {
	var d Device
	if err := json.Unmarshal([]byte(legacyRecord), &d); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	var old legacyDevice
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatalf("legacy decode: %v\n%s", err, b)
	}
	if len(old.Interfaces) != len(legacyInterfaces) {
		t.Errorf("legacy decode: %d interfaces, want %d", len(old.Interfaces), len(legacyInterfaces))
	}
	for idx, want := range legacyInterfaces {
		if got := old.Interfaces[idx]; got == nil || *got != want {
			t.Errorf("legacy decode, ifIndex %d: %+v, want %+v", idx, got, want)
		}
	}
	var legacy legacyDevice
	if err := json.Unmarshal([]byte(legacyRecord), &legacy); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(old.Tables, legacy.Tables) {
		t.Errorf("legacy decode, tables: %+v, want %+v", old.Tables, legacy.Tables)
	}
	if old.FreshUntil != d.FreshUntil || old.Resource != d.Resource || !old.HaveInterfaces {
		t.Errorf("legacy decode, device fields: %+v", old)
	}
	var back Device
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(maps.Collect(back.Interfaces.All()), legacyInterfaces) {
		t.Errorf("round trip: %+v", maps.Collect(back.Interfaces.All()))
	}
	b2, _ := json.Marshal(&back)
	if string(b2) != string(b) {
		t.Errorf("not stable through a round trip:\n%s\n%s", b, b2)
	}

	// No interfaces: an object (the legacy code reads it), no tables field.
	b, _ = json.Marshal(&Device{})
	var none legacyDevice
	if err := json.Unmarshal(b, &none); err != nil || none.Interfaces == nil || len(none.Interfaces) != 0 || none.Tables != nil {
		t.Errorf("empty device %s: %+v, %v", b, none, err)
	}
}

// TestInterfacesLookup: Get finds every ifIndex, whatever the order they
// came in, and nothing else; All yields them in ascending order.
func TestInterfacesLookup(t *testing.T) {
	if key, c := unsafe.Sizeof(ifKey{}), unsafe.Sizeof(cell{}); key != 24 || c != 32 {
		t.Errorf("an interface takes %d bytes shared, a table cell %d: the layout grew (24 and 32)", key, c)
	}
	var zero Interfaces
	if _, ok := zero.Get(1); ok || zero.Len() != 0 {
		t.Error("the zero Interfaces has an interface")
	}
	m := map[uint32]Interface{}
	for _, idx := range []uint32{math.MaxUint32, 7, 0, 10001, 3, 1 << 31} {
		m[idx] = Interface{Name: "if" + string(rune('a'+idx%26)), Speed: uint64(idx) * 10, Have: HaveName | HaveSpeed}
	}
	s := NewInterfaces(m)
	for idx, want := range m {
		if got, ok := s.Get(idx); !ok || got != want {
			t.Errorf("Get(%d) = %+v %v, want %+v", idx, got, ok, want)
		}
	}
	for _, idx := range []uint32{1, 2, 4, 6, 8, 10000, 10002, 1<<31 - 1, math.MaxUint32 - 1} {
		if got, ok := s.Get(idx); ok {
			t.Errorf("Get(%d) = %+v, want none", idx, got)
		}
	}
	var order []uint32
	for idx := range s.All() {
		order = append(order, idx)
	}
	if !slices.IsSorted(order) || len(order) != len(m) {
		t.Errorf("All: %v", order)
	}
}

// TestCollectedInterfaces builds Interfaces from walks: columns in agent
// order, text as the interface plugin reads it, a value of the wrong type
// absent, numbers beyond 32 bits exact, and strings shared between
// devices.
func TestCollectedInterfaces(t *testing.T) {
	walks := func(alias string) [][]snmp.Varbind {
		col := func(root string, vbs ...snmp.Varbind) []snmp.Varbind {
			for i := range vbs {
				vbs[i].Name = root + vbs[i].Name
			}
			return vbs
		}
		str := func(idx string, s string) snmp.Varbind {
			return snmp.Varbind{Name: idx, Type: gosnmp.OctetString, Value: []byte(s)}
		}
		return [][]snmp.Varbind{ // slowColumns' order
			col(".1.3.6.1.2.1.2.2.1.2", str(".3", "Gi1/0/3 descr\x00\x00"), str(".1", "bad \xff utf8")),
			col(".1.3.6.1.2.1.2.2.1.3", snmp.Varbind{Name: ".1", Type: gosnmp.Integer, Value: 6},
				snmp.Varbind{Name: ".3", Type: gosnmp.Counter64, Value: uint64(1) << 40}),
			col(".1.3.6.1.2.1.2.2.1.5", snmp.Varbind{Name: ".3", Type: gosnmp.Gauge32, Value: uint(4294967295)},
				snmp.Varbind{Name: ".1", Type: gosnmp.OctetString, Value: []byte("not a number")}),
			col(".1.3.6.1.2.1.31.1.1.1.1", str(".1", "Gi1/0/1"), str(".3", "Gi1/0/3"), str(".9", "")),
			col(".1.3.6.1.2.1.31.1.1.1.15", snmp.Varbind{Name: ".3", Type: gosnmp.Gauge32, Value: uint(1000)}),
			col(".1.3.6.1.2.1.31.1.1.1.18", str(".1", alias), snmp.Varbind{Name: ".3", Type: gosnmp.Null}),
		}
	}
	a, b := interfaces(walks("uplink")), interfaces(walks("uplink"))
	want := map[uint32]Interface{
		1: {Descr: "bad \uFFFD utf8", Name: "Gi1/0/1", Alias: "uplink", Type: 6, Have: HaveDescr | HaveType | HaveName | HaveAlias},
		3: {Descr: "Gi1/0/3 descr", Name: "Gi1/0/3", Type: 1 << 40, Speed: 4294967295, HighSpeed: 1000,
			Have: HaveDescr | HaveType | HaveSpeed | HaveName | HaveHighSpeed},
		9: {Have: HaveName},
	}
	if got := maps.Collect(a.All()); !reflect.DeepEqual(got, want) {
		t.Errorf("collected\n%+v\nwant\n%+v", got, want)
	}
	ea, _ := a.Get(3)
	eb, _ := b.Get(3)
	if unsafe.StringData(ea.Name) != unsafe.StringData(eb.Name) || unsafe.StringData(ea.Descr) != unsafe.StringData(eb.Descr) {
		t.Error("two devices' equal interface names are separate copies")
	}
	// Devices that differ only in aliases (and speeds) share the rest;
	// each keeps its own values.
	c := interfaces(walks("core"))
	if a.shape != b.shape || a.shape != c.shape {
		t.Error("devices of the same shape hold separate copies of it")
	}
	if ea, ec := must(a.Get(1)), must(c.Get(1)); ea.Alias != "uplink" || ec.Alias != "core" {
		t.Errorf("aliases %q and %q, want uplink and core", ea.Alias, ec.Alias)
	}
	other := walks("uplink")
	other[3][0].Value = []byte("Te1/0/1") // another name: another shape
	if d := interfaces(other); d.shape == a.shape || must(d.Get(1)).Name != "Te1/0/1" || must(a.Get(1)).Name != "Gi1/0/1" {
		t.Error("a device with another interface name shares the shape of the others")
	}
}

func must(e Interface, ok bool) Interface {
	if !ok {
		panic("no such interface")
	}
	return e
}

// TestShapesBounded: a full shape table starts again; the devices keep
// the shapes they hold, and equal shapes are shared again after.
func TestShapesBounded(t *testing.T) {
	tab := &shapeTable{maxEntries: 2, seed: maphash.MakeSeed(), m: map[uint64]*ifShape{}}
	keys := func(idx uint32) []ifKey { return []ifKey{{index: idx, name: texts.str("Gi1/0/1"), have: HaveName}} }
	first := tab.get(keys(1))
	if tab.get(keys(1)) != first {
		t.Fatal("an equal shape not shared")
	}
	tab.get(keys(2))
	tab.get(keys(3))
	if tab.len() != 1 {
		t.Errorf("%d shapes after the third, want a new generation of 1", tab.len())
	}
	if first.rows[0].index != 1 {
		t.Error("a shape of an older generation changed")
	}
	if again := tab.get(keys(1)); again == first || tab.get(keys(1)) != again {
		t.Error("not shared within the new generation")
	}
}

// TestInternerGenerations: a full table starts again; the strings handed
// out before stay valid, and equal strings are shared again after.
func TestInternerGenerations(t *testing.T) {
	in := &interner{maxEntries: 3, maxBytes: 1 << 20, m: map[string]*string{}}
	first := in.str("Gi1/0/1")
	for _, s := range []string{"a", "b", "c"} {
		in.str(s)
	}
	if in.len() != 1 {
		t.Fatalf("%d strings after the fourth, want a new generation of 1", in.len())
	}
	if *first != "Gi1/0/1" {
		t.Errorf("string from an older generation: %q", *first)
	}
	if p, q := in.bytes([]byte("Gi1/0/1")), in.str("Gi1/0/1"); p != q || p == first {
		t.Error("not shared within the new generation")
	}
	if in.str("") != nil || in.bytes(nil) != nil {
		t.Error("empty text not nil")
	}
	long := string(make([]byte, maxInternLen+1))
	if p := in.str(long); *p != long || in.len() != 2 {
		t.Errorf("long text: interned (%d strings)", in.len())
	}
	in = &interner{maxEntries: 100, maxBytes: 10, m: map[string]*string{}}
	in.str("12345678")
	in.str("abc")
	if in.len() != 1 {
		t.Errorf("byte bound: %d strings, want 1", in.len())
	}
}

// TestTableKeepsNoResponseBuffer: cached cells copy their text out of the
// response they came in (the SNMP codec's arena: a few bytes must not keep
// kilobytes alive) and share it between devices.
func TestTableKeepsNoResponseBuffer(t *testing.T) {
	const root = ".1.3.6.1.2.1.47.1.1.1.1.7"
	arena := make([]byte, 0, 4096)
	arena = append(arena, root+".1001"...)
	name := string(arena) // the codec's names and values share one buffer
	arena = append(arena, "Switch 1 - Power Supply A"...)
	vb := snmp.Varbind{Name: name, Type: gosnmp.OctetString, Value: arena[len(name):]}
	cells := table([]snmp.Varbind{vb}, root)
	if len(cells) != 1 {
		t.Fatalf("%d cells", len(cells))
	}
	lo, hi := uintptr(unsafe.Pointer(&arena[:1][0])), uintptr(unsafe.Pointer(&arena[:1][0]))+uintptr(cap(arena))
	for _, s := range []string{*cells[0].index, *cells[0].text} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
			t.Errorf("cell text %q points into the response buffer", s)
		}
	}
	again := table([]snmp.Varbind{vb}, root)
	if again[0].text != cells[0].text || again[0].index != cells[0].index {
		t.Error("equal cells of two collections are separate copies")
	}
	d := Device{Tables: buildTables([]string{root}, [][]snmp.Varbind{{vb}})}
	got, _ := d.Table(root)
	got[0].Value.([]byte)[0] = 'X' // a poll's copy: the cache is not changed
	if got, _ := d.Table(root); string(got[0].Value.([]byte)) != "Switch 1 - Power Supply A" || got[0].Name != root+".1001" {
		t.Errorf("after a poll changed its varbinds: %+v", got)
	}
}

// Values wider than a row's fields (a broken agent's ifType over 65,535,
// ifSpeed or ifHighSpeed over 32 bits) come back whole, through Get and
// through the KV's JSON, beside rows that fit.
func TestInterfacesWideValues(t *testing.T) {
	m := map[uint32]Interface{
		1: {Name: "fits", Type: 6, Speed: math.MaxUint32, HighSpeed: 100000, Have: HaveName | HaveType | HaveSpeed | HaveHighSpeed},
		2: {Name: "type", Type: math.MaxUint16 + 1, Speed: 1e9, HighSpeed: 1000, Have: HaveName | HaveType | HaveSpeed | HaveHighSpeed},
		3: {Name: "speed", Type: 6, Speed: math.MaxUint32 + 1, Have: HaveName | HaveType | HaveSpeed},
		4: {Name: "all", Type: math.MaxUint64, Speed: math.MaxUint64, HighSpeed: math.MaxUint64, Have: HaveType | HaveSpeed | HaveHighSpeed},
	}
	s := NewInterfaces(m)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Interfaces
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for idx, want := range m {
		for name, got := range map[string]Interfaces{"built": s, "from JSON": back} {
			if e, ok := got.Get(idx); !ok || e != want {
				t.Errorf("%s: Get(%d) = %+v %v, want %+v", name, idx, e, ok, want)
			}
		}
	}
	if w := s.speeds.wideRows(s.Len()); len(w) != 3 {
		t.Errorf("%d wide rows, want 3 (the rows that do not fit)", len(w))
	}
}
