package enrich

import (
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Cell is one value of a cached table column, kept with its SNMP type so
// that a poll sees exactly what a walk would have returned (the profile
// evaluator converts by type). One field holds the value, by type.
type Cell struct {
	Index string         `json:"i"` // the instance after the column OID ("7", "1.22.0")
	Type  gosnmp.Asn1BER `json:"t"`
	Bytes []byte         `json:"b,omitempty"` // OCTET STRING, Opaque
	Text  string         `json:"s,omitempty"` // OBJECT IDENTIFIER, IpAddress
	Int   int64          `json:"n,omitempty"` // INTEGER
	Uint  uint64         `json:"u,omitempty"` // Counter32/64, Gauge32, TimeTicks, Uinteger32
	Float float64        `json:"f,omitempty"` // Opaque float and double
}

// cellOf keeps vb, an instance of column root; ok is false for exceptions
// (noSuchInstance, endOfMibView...), NULL and values of no known type.
func cellOf(vb *snmp.Varbind, root string) (Cell, bool) {
	idx, ok := strings.CutPrefix(vb.Name, root+".")
	if !ok {
		idx, ok = strings.CutPrefix("."+vb.Name, root+".") // agents' names without the leading dot
	}
	if !ok || idx == "" {
		return Cell{}, false
	}
	c := Cell{Index: idx, Type: vb.Type}
	switch vb.Type {
	case gosnmp.OctetString, gosnmp.Opaque:
		switch v := vb.Value.(type) {
		case []byte:
			c.Bytes = v
		case string:
			c.Bytes = []byte(v)
		default:
			return Cell{}, false
		}
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		c.Text = fmt.Sprint(vb.Value)
	case gosnmp.Integer:
		c.Int = gosnmp.ToBigInt(vb.Value).Int64()
	case gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		c.Uint = gosnmp.ToBigInt(vb.Value).Uint64()
	case gosnmp.OpaqueFloat:
		f, ok := vb.Value.(float32)
		if !ok {
			return Cell{}, false
		}
		c.Float = float64(f)
	case gosnmp.OpaqueDouble:
		f, ok := vb.Value.(float64)
		if !ok {
			return Cell{}, false
		}
		c.Float = f
	default:
		return Cell{}, false
	}
	return c, true
}

// varbind is the cell as the pool's walk of root returns it (gosnmp's Go
// types per SNMP type).
func (c *Cell) varbind(root string) snmp.Varbind {
	vb := snmp.Varbind{Name: root + "." + c.Index, Type: c.Type}
	switch c.Type {
	case gosnmp.OctetString, gosnmp.Opaque:
		vb.Value = c.Bytes
	case gosnmp.ObjectIdentifier, gosnmp.IPAddress:
		vb.Value = c.Text
	case gosnmp.Integer:
		vb.Value = int(c.Int)
	case gosnmp.Counter64:
		vb.Value = c.Uint
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		vb.Value = uint(c.Uint)
	case gosnmp.OpaqueFloat:
		vb.Value = float32(c.Float)
	case gosnmp.OpaqueDouble:
		vb.Value = c.Float
	}
	return vb
}

// table keeps a walk of root as cells.
func table(vbs []snmp.Varbind, root string) []Cell {
	cells := make([]Cell, 0, len(vbs))
	for i := range vbs {
		if c, ok := cellOf(&vbs[i], root); ok {
			cells = append(cells, c)
		}
	}
	return cells
}
