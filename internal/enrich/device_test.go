package enrich

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func TestChanged(t *testing.T) {
	d := &Device{Uptime: 500000, LastChange: 1200, HaveLastChange: true}
	for _, c := range []struct {
		name string
		s    Signals
		want bool
	}{
		{"nothing seen", Signals{}, false},
		{"uptime advanced", Signals{Uptime: 560000, HaveUptime: true}, false},
		{"collected just after the poll's read", Signals{Uptime: 499000, HaveUptime: true}, false},
		{"uptime went back: restart", Signals{Uptime: 3000, HaveUptime: true}, true},
		{"ifTableLastChange still", Signals{LastChange: 1200, HaveLastChange: true}, false},
		{"ifTableLastChange moved", Signals{LastChange: 99000, HaveLastChange: true}, true},
	} {
		if got := d.changed(c.s); got != c.want {
			t.Errorf("%s: changed = %v, want %v", c.name, got, c.want)
		}
	}
}

// scripted answers the collector's requests from fixed data; its sysUpTime
// and ifTableLastChange can be moved, and it counts collections.
type scripted struct {
	uptime, lastChange uint32
	alias              string
	walks              atomic.Int32
}

func (s *scripted) Walk(_ context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	s.walks.Add(1)
	switch root {
	case ".1.3.6.1.2.1.31.1.1.1.18":
		return []snmp.Varbind{{Name: root + ".7", Type: gosnmp.OctetString, Value: []byte(s.alias)}}, nil
	case ".1.3.6.1.2.1.31.1.1.1.1":
		return []snmp.Varbind{{Name: root + ".7", Type: gosnmp.OctetString, Value: []byte("Gi0/7\x00")}}, nil
	case ".1.3.6.1.2.1.31.1.1.1.15":
		return []snmp.Varbind{{Name: root + ".7", Type: gosnmp.Gauge32, Value: uint(1000)}}, nil
	}
	return nil, nil
}

func (s *scripted) Get(_ context.Context, _ snmp.Target, oids []string) ([]snmp.Varbind, error) {
	var out []snmp.Varbind
	for _, o := range oids {
		switch o {
		case OIDSysUpTime:
			out = append(out, snmp.Varbind{Name: o, Type: gosnmp.TimeTicks, Value: s.uptime})
		case OIDIfTableLastChange:
			out = append(out, snmp.Varbind{Name: o, Type: gosnmp.TimeTicks, Value: s.lastChange})
		case OIDSysName:
			out = append(out, snmp.Varbind{Name: o, Type: gosnmp.OctetString, Value: []byte("sw1")})
		case OIDSysObjectID:
			out = append(out, snmp.Varbind{Name: o, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.9.1.1"})
		}
	}
	return out, nil
}

// TestLastChangeTriggersCollection: a moved ifTableLastChange makes the
// next lookup collect again although Refresh has not passed; a failed
// refresh keeps the older data.
func TestLastChangeTriggersCollection(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(10000, 0)
	c := New(Options{Refresh: time.Hour, MinInterval: time.Second, Now: func() time.Time { return now }})
	dev := &scripted{uptime: 100000, lastChange: 500, alias: "old"}
	res := &resource.Resource{ID: "sw1"}
	lookup := func(s SNMP) *Device {
		t.Helper()
		d, err := c.Lookup(ctx, res, snmp.Target{}, s, Signals{Uptime: dev.uptime, HaveUptime: true, LastChange: dev.lastChange, HaveLastChange: true}, Need{Interfaces: true})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := lookup(dev)
	if i, ok := d.Interfaces.Get(7); !ok || i.Name != "Gi0/7" || i.Alias != "old" || i.HighSpeed != 1000 || i.Have&HaveType != 0 {
		t.Fatalf("collected %+v", i)
	}
	if d.SysName != "sw1" || d.SysObjectID != ".1.3.6.1.4.1.9.1.1" || !d.HaveLastChange {
		t.Errorf("system: %+v", d)
	}
	walks := dev.walks.Load()
	now = now.Add(2 * time.Second)
	dev.uptime += 200
	dev.alias = "new"
	if d := lookup(dev); alias7(d) != "old" || dev.walks.Load() != walks {
		t.Errorf("unchanged device collected again (alias %q)", alias7(d))
	}
	dev.lastChange = 700 // an interface was created
	if d := lookup(dev); alias7(d) != "new" {
		t.Errorf("after ifTableLastChange moved: alias %q, want new", alias7(d))
	}
	now = now.Add(2 * time.Hour)
	if d := lookup(failing{}); d == nil || alias7(d) != "new" {
		t.Errorf("failed refresh: %+v, want the older data", d)
	}
}

type failing struct{}

func (failing) Walk(context.Context, snmp.Target, string) ([]snmp.Varbind, error) {
	return nil, context.DeadlineExceeded
}
func (failing) Get(context.Context, snmp.Target, []string) ([]snmp.Varbind, error) {
	return nil, context.DeadlineExceeded
}

// alias7 is ifAlias.7 of d ("<none>" when d has no interface 7).
func alias7(d *Device) string {
	if e, ok := d.Interfaces.Get(7); ok {
		return e.Alias
	}
	return "<none>"
}
