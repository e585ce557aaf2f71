package profile

import (
	"strconv"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// TestHostResourcesFallback: a host no vendor profile reads gets the
// generic HOST-RESOURCES-MIB profile (processors, memory, storage) instead
// of failing on ENTITY-SENSOR-MIB: a real snmpd serving only mib-2, once
// with Windows' sysObjectID (no profile matches) and once with its own
// (linux matches, but without UCD-SNMP-MIB has no data). Values are those
// snmpbulkwalk reads.
func TestHostResourcesFallback(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpd", "snmpbulkwalk")
	for _, c := range []struct{ name, sysObjectID string }{
		{"windows", ".1.3.6.1.4.1.311.1.1.3.1.2"},
		{"net-snmp without UCD", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := snmpagent.StartSnmpdWith(t, snmpagent.SnmpdOptions{SysObjectID: c.sysObjectID, MIB2Only: true})
			p, err := NewPlugin(shipped(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			res := device(a, "server", nil)
			gs, status := check(t, p, res, a.Community)
			if status != metric.StatusSuccess {
				t.Fatalf("status %d: %s", status, dump(gs))
			}
			const storage = ".1.3.6.1.2.1.25.2.3.1"
			types, descrs := truth(t, a, a.Community, storage+".2"), truth(t, a, a.Community, storage+".3")
			units, sizes := truth(t, a, a.Community, storage+".4"), truth(t, a, a.Community, storage+".5")
			var ram, disks int
			for idx, typ := range types {
				total := strconv.FormatInt(atoi(t, sizes[idx])*atoi(t, units[idx]), 10)
				switch typ {
				case ".1.3.6.1.2.1.25.2.1.2":
					ram++
					g := find(t, gs, "memory", "memory_name", descrs[idx])
					wantVal(t, g, "memory_total", total)
					if g.Dimension("memory_type") != "real" {
						t.Errorf("%s: memory_type %q", descrs[idx], g.Dimension("memory_type"))
					}
				case ".1.3.6.1.2.1.25.2.1.4":
					disks++
					wantVal(t, find(t, gs, "storage", "storage_name", descrs[idx]), "storage_total", total)
				}
			}
			if ram != 1 || disks == 0 {
				t.Fatalf("snmpd has %d RAM rows and %d fixed disks", ram, disks)
			}
			// hrProcessorLoad is a one-minute average: a fresh agent may have
			// no rows yet, and then no cpu groups either.
			if loads := truth(t, a, a.Community, ".1.3.6.1.2.1.25.3.3.1.2"); len(groupsOf(gs, "cpu")) != len(loads) {
				t.Errorf("%d cpu groups, %d hrProcessorLoad rows", len(groupsOf(gs, "cpu")), len(loads))
			}
			// The choice is remembered: a second poll starts with it.
			if name, ok := p.cached("fallback|" + res.Key() + "|" + res.Endpoint); !ok || name != "host-resources" {
				t.Errorf("remembered %q %v", name, ok)
			}
			if _, status := check(t, p, res, a.Community); status != metric.StatusSuccess {
				t.Errorf("second poll: status %d", status)
			}
		})
	}
}
