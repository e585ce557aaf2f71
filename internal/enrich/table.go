package enrich

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Tables are whole columns by column OID (Need.Tables), read-only once
// built; the zero value has none. A column the device lacks is present
// and empty. Cells are 32 bytes, their indexes and texts shared between
// devices (texts), and they keep nothing of the walk's response buffers.
//
// In JSON (the KV value) they are the object of []Cell by column OID that
// map[string][]Cell encodes to, both ways.
type Tables struct {
	cols []tableColumn // sorted by oid
}

type tableColumn struct {
	oid   string // interned
	cells []cell
}

// cell is a Cell in 32 bytes: num holds INTEGER (two's complement), the
// unsigned types and floats (IEEE bits); text the octets of an OCTET
// STRING or Opaque, or an OID's or IpAddress's text.
type cell struct {
	index *string
	text  *string
	num   uint64
	typ   gosnmp.Asn1BER
}

// Cell is one value of a cached table column as JSON carries it, kept
// with its SNMP type so that a poll sees exactly what a walk would have
// returned (the profile evaluator converts by type). One field holds the
// value, by type.
type Cell struct {
	Index string         `json:"i"` // the instance after the column OID ("7", "1.22.0")
	Type  gosnmp.Asn1BER `json:"t"`
	Bytes []byte         `json:"b,omitempty"` // OCTET STRING, Opaque
	Text  string         `json:"s,omitempty"` // OBJECT IDENTIFIER, IpAddress
	Int   int64          `json:"n,omitempty"` // INTEGER
	Uint  uint64         `json:"u,omitempty"` // Counter32/64, Gauge32, TimeTicks, Uinteger32
	Float float64        `json:"f,omitempty"` // Opaque float and double
}

// NewTables builds Tables from cells by column OID.
func NewTables(m map[string][]Cell) Tables {
	t := Tables{cols: make([]tableColumn, 0, len(m))}
	for oid, cells := range m {
		col := tableColumn{oid: deref(texts.str(oid)), cells: make([]cell, len(cells))}
		for i := range cells {
			col.cells[i] = compact(&cells[i])
		}
		t.cols = append(t.cols, col)
	}
	slices.SortFunc(t.cols, func(a, b tableColumn) int { return cmp.Compare(a.oid, b.oid) })
	return t
}

// Len is the number of columns.
func (t Tables) Len() int { return len(t.cols) }

// Has reports whether column oid was collected.
func (t Tables) Has(oid string) bool {
	_, ok := t.column(oid)
	return ok
}

// IsZero reports no columns (the JSON field is then left out).
func (t Tables) IsZero() bool { return len(t.cols) == 0 }

func (t Tables) column(oid string) ([]cell, bool) {
	i, ok := slices.BinarySearchFunc(t.cols, oid, func(c tableColumn, oid string) int { return cmp.Compare(c.oid, oid) })
	if !ok {
		return nil, false
	}
	return t.cols[i].cells, true
}

// MarshalJSON writes the columns as map[string][]Cell does.
func (t Tables) MarshalJSON() ([]byte, error) {
	m := make(map[string][]Cell, len(t.cols))
	for _, col := range t.cols {
		cells := make([]Cell, len(col.cells))
		for i := range col.cells {
			cells[i] = col.cells[i].export()
		}
		m[col.oid] = cells
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the columns (null: none).
func (t *Tables) UnmarshalJSON(data []byte) error {
	var m map[string][]Cell
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	*t = NewTables(m)
	return nil
}

// compact is c as a cell; only the field of c's type counts.
func compact(c *Cell) cell {
	out := cell{index: texts.str(c.Index), typ: c.Type}
	switch c.Type {
	case gosnmp.OctetString, gosnmp.Opaque:
		out.text = texts.bytes(c.Bytes)
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		out.text = texts.str(c.Text)
	case gosnmp.Integer:
		out.num = uint64(c.Int)
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		out.num = c.Uint
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		out.num = math.Float64bits(c.Float)
	}
	return out
}

// export is the cell as JSON carries it.
func (c *cell) export() Cell {
	out := Cell{Index: deref(c.index), Type: c.typ}
	switch c.typ {
	case gosnmp.OctetString, gosnmp.Opaque:
		if c.text != nil {
			out.Bytes = []byte(*c.text)
		}
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		out.Text = deref(c.text)
	case gosnmp.Integer:
		out.Int = int64(c.num)
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		out.Uint = c.num
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		out.Float = math.Float64frombits(c.num)
	}
	return out
}

// cellOf keeps vb, an instance of column root; ok is false for exceptions
// (noSuchInstance, endOfMibView...), NULL and values of no known type.
func cellOf(vb *snmp.Varbind, root string) (cell, bool) {
	idx, ok := strings.CutPrefix(vb.Name, root+".")
	if !ok {
		idx, ok = strings.CutPrefix("."+vb.Name, root+".") // agents' names without the leading dot
	}
	if !ok || idx == "" {
		return cell{}, false
	}
	c := cell{typ: vb.Type}
	switch vb.Type {
	case gosnmp.OctetString, gosnmp.Opaque:
		b, ok := snmp.Octets(vb)
		if !ok {
			return cell{}, false
		}
		c.text = texts.bytes(b)
	case gosnmp.ObjectIdentifier:
		s, ok := snmp.OID(vb)
		if !ok {
			return cell{}, false
		}
		c.text = texts.str(s)
	case gosnmp.IPAddress:
		s, ok := snmp.IPAddress(vb)
		if !ok {
			return cell{}, false
		}
		c.text = texts.str(s)
	case gosnmp.Integer:
		v, _ := snmp.Int(vb)
		c.num = uint64(v)
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		c.num, _ = snmp.Uint(vb)
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		f, ok := snmp.Float(vb)
		if !ok {
			return cell{}, false
		}
		c.num = math.Float64bits(f)
	default:
		return cell{}, false
	}
	c.index = texts.str(idx) // a copy: idx is in the response buffer
	return c, true
}

// varbind is the cell as the pool's walk of root returns it (gosnmp's Go
// types per SNMP type).
func (c *cell) varbind(root string) snmp.Varbind {
	vb := snmp.Varbind{Name: root + "." + deref(c.index), Type: c.typ}
	switch c.typ {
	case gosnmp.OctetString, gosnmp.Opaque:
		vb.Value = []byte(deref(c.text)) // a copy per poll: the cell is shared
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		vb.Value = deref(c.text)
	case gosnmp.Integer:
		vb.Value = int(int64(c.num))
	case gosnmp.Counter64:
		vb.Value = c.num
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		vb.Value = uint(c.num)
	case gosnmp.OpaqueFloat:
		vb.Value = float32(math.Float64frombits(c.num))
	case gosnmp.OpaqueDouble:
		vb.Value = math.Float64frombits(c.num)
	}
	return vb
}

// table keeps a walk of root as cells.
func table(vbs []snmp.Varbind, root string) []cell {
	cells := make([]cell, 0, len(vbs))
	for i := range vbs {
		if c, ok := cellOf(&vbs[i], root); ok {
			cells = append(cells, c)
		}
	}
	switch {
	case len(cells) == 0:
		return nil
	case len(cells) < cap(cells): // exceptions dropped: keep no spare room
		return append(make([]cell, 0, len(cells)), cells...)
	}
	return cells
}

// buildTables keeps the walks of roots.
func buildTables(roots []string, walks [][]snmp.Varbind) Tables {
	t := Tables{cols: make([]tableColumn, 0, len(roots))}
	for i, root := range roots {
		t.cols = append(t.cols, tableColumn{oid: deref(texts.str(root)), cells: table(walks[i], root)})
	}
	slices.SortFunc(t.cols, func(a, b tableColumn) int { return cmp.Compare(a.oid, b.oid) })
	t.cols = slices.CompactFunc(t.cols, func(a, b tableColumn) bool { return a.oid == b.oid })
	return t
}
