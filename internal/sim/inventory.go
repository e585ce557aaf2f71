package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// vendors maps a sysObjectID's enterprise number to the resource type used
// in an inventory.
var vendors = map[uint32]string{
	9: "cisco", 2636: "juniper", 30065: "arista", 11: "hp", 25506: "h3c", 2011: "huawei",
	1588: "brocade", 6527: "nokia", 12356: "fortinet", 25461: "paloalto", 8072: "netsnmp",
}

var (
	oidSysObjectID  = []uint32{1, 3, 6, 1, 2, 1, 1, 2, 0}
	oidEntModelName = []uint32{1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 13}
)

// Vendor is the resource type suggested by the recording's sysObjectID
// ("cisco", "juniper", ...; "generic" when unknown).
func (r *Recording) Vendor() string {
	i := r.exact(oidSysObjectID)
	if i < 0 || r.entries[i].tag != ber.TagOID {
		return "generic"
	}
	v := r.valueTLV(&r.entries[i])
	arcs, ok := ber.DecodeOID(nil, v[2:])
	if !ok || len(arcs) < 7 || !ber.HasPrefix(arcs, []uint32{1, 3, 6, 1, 4, 1}) {
		return "generic"
	}
	if t, ok := vendors[arcs[6]]; ok {
		return t
	}
	return "generic"
}

var oidSysServices = []uint32{1, 3, 6, 1, 2, 1, 1, 7, 0}

// Subclass is the resource subclass suggested by sysServices: "router" for
// a device offering layer 3 without layer 2 (an MX960 answers 4), "switch"
// for one offering layer 2 (a 2960-X answers 2, a layer-3 switch 6), ""
// when unknown (the inventory's default applies).
func (r *Recording) Subclass() string {
	i := r.exact(oidSysServices)
	if i < 0 || r.entries[i].tag != ber.TagInteger {
		return ""
	}
	n, _, ok := ber.ReadInt(r.valueTLV(&r.entries[i]), 0)
	if !ok {
		return ""
	}
	switch {
	case n&2 != 0:
		return "switch"
	case n&4 != 0:
		return "router"
	}
	return ""
}

// Model is the first non-empty ENTITY-MIB entPhysicalModelName, else the
// recording's name.
func (r *Recording) Model() string {
	for i := r.search(oidEntModelName); i < len(r.entries); i++ {
		e := &r.entries[i]
		if !ber.HasPrefix(r.oidArcs(e), oidEntModelName) {
			break
		}
		if e.tag != ber.TagOctetString {
			continue
		}
		v := r.valueTLV(e)
		_, s, end, _ := ber.ReadTLV(v, 0)
		if m := strings.TrimSpace(string(v[s:end])); m != "" && printable(m) {
			return m
		}
	}
	return r.Name
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// WriteInventory writes the devices as a CSV inventory for panoptes' CSV
// discovery: id,endpoint,subclass,type,snmp_credential,model. credential names the
// credential in the panoptes config that matches the farm's community or v3
// user (it is a name, never the secret itself).
func (f *Farm) WriteInventory(w io.Writer, credential string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "endpoint", "subclass", "type", "snmp_credential", "model"}); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	for _, d := range f.devices {
		if err := cw.Write([]string{d.Name, d.Addr, d.rec.Subclass(), d.rec.Vendor(), credential, d.rec.Model()}); err != nil {
			return fmt.Errorf("write inventory: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	return nil
}
