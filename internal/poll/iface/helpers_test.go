package iface

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// Varbind constructors, with the Go types gosnmp decodes into.
func vbInt(oid string, v int) snmp.Varbind {
	return snmp.Varbind{Name: oid, Type: gosnmp.Integer, Value: v}
}
func vbC32(oid string, v uint) snmp.Varbind {
	return snmp.Varbind{Name: oid, Type: gosnmp.Counter32, Value: v}
}
func vbG32(oid string, v uint) snmp.Varbind {
	return snmp.Varbind{Name: oid, Type: gosnmp.Gauge32, Value: v}
}
func vbC64(oid string, v uint64) snmp.Varbind {
	return snmp.Varbind{Name: oid, Type: gosnmp.Counter64, Value: v}
}
func vbStr(oid, v string) snmp.Varbind {
	return snmp.Varbind{Name: oid, Type: gosnmp.OctetString, Value: []byte(v)}
}

func col(t *table, c, idx int) string { return fmt.Sprintf("%s.%d.%d", t.root, c, idx) }

// port describes one interface of a synthetic device.
type port struct {
	idx                 int
	descr, name, alias  string
	ifType, mtu         int
	speed, highSpeed    uint
	admin, oper         int
	base                uint64 // counters are derived from it
	noHC, noX, noDot3   bool
	noNUcast, noMcast32 bool
}

// device builds the walks an agent would return for ports, column-major as
// agents order a table.
func device(ports ...port) map[string][]snmp.Varbind {
	w := map[string][]snmp.Varbind{}
	add := func(t *table, vb snmp.Varbind) { w[t.root] = append(w[t.root], vb) }
	each := func(f func(p port)) {
		for _, p := range ports {
			f(p)
		}
	}
	// ifTable: columns 1..22, including ones the plugin skips.
	each(func(p port) { add(ifTable, vbInt(col(ifTable, 1, p.idx), p.idx)) })
	each(func(p port) { add(ifTable, vbStr(col(ifTable, 2, p.idx), p.descr)) })
	each(func(p port) { add(ifTable, vbInt(col(ifTable, 3, p.idx), p.ifType)) })
	each(func(p port) { add(ifTable, vbInt(col(ifTable, 4, p.idx), p.mtu)) })
	each(func(p port) { add(ifTable, vbG32(col(ifTable, 5, p.idx), p.speed)) })
	each(func(p port) { add(ifTable, vbStr(col(ifTable, 6, p.idx), "\x00\x11\x22\x33\x44\x55")) })
	each(func(p port) { add(ifTable, vbInt(col(ifTable, 7, p.idx), p.admin)) })
	each(func(p port) { add(ifTable, vbInt(col(ifTable, 8, p.idx), p.oper)) })
	ifCounters := []int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	for _, c := range ifCounters {
		each(func(p port) {
			if (c == 12 || c == 18) && p.noNUcast {
				return
			}
			add(ifTable, vbC32(col(ifTable, c, p.idx), uint(p.base+uint64(c))%(1<<32)))
		})
	}
	for c := 1; c <= 19; c++ {
		each(func(p port) {
			if p.noX {
				return
			}
			switch {
			case c == 1:
				add(ifXTable, vbStr(col(ifXTable, c, p.idx), p.name))
			case c >= 2 && c <= 5:
				if !p.noMcast32 {
					add(ifXTable, vbC32(col(ifXTable, c, p.idx), uint(p.base+100+uint64(c))%(1<<32)))
				}
			case c >= 6 && c <= 13:
				if !p.noHC {
					add(ifXTable, vbC64(col(ifXTable, c, p.idx), p.base*1000+uint64(c)))
				}
			case c == 15:
				add(ifXTable, vbG32(col(ifXTable, c, p.idx), p.highSpeed))
			case c == 18:
				add(ifXTable, vbStr(col(ifXTable, c, p.idx), p.alias))
			default:
				add(ifXTable, vbInt(col(ifXTable, c, p.idx), 2))
			}
		})
	}
	for c := 1; c <= 19; c++ {
		each(func(p port) {
			if p.noDot3 {
				return
			}
			switch c {
			case 1:
				add(dot3StatsTable, vbInt(col(dot3StatsTable, c, p.idx), p.idx))
			case 19:
				add(dot3StatsTable, vbInt(col(dot3StatsTable, c, p.idx), 3))
			default:
				add(dot3StatsTable, vbC32(col(dot3StatsTable, c, p.idx), uint(p.base+200+uint64(c))))
			}
		})
	}
	return w
}

// fakeWalker serves walks from a map; roots under a table root are
// answered from the table's varbinds (column walks). It records the roots
// asked for and can fail or hang on chosen roots.
type fakeWalker struct {
	walks map[string][]snmp.Varbind
	fail  map[string]error
	hang  map[string]bool // block until ctx is done

	mu    sync.Mutex
	roots []string
}

func (f *fakeWalker) Walk(ctx context.Context, _ snmp.Target, root string) ([]snmp.Varbind, error) {
	f.mu.Lock()
	f.roots = append(f.roots, root)
	f.mu.Unlock()
	if err := f.fail[root]; err != nil {
		return nil, err
	}
	if f.hang[root] {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if vbs, ok := f.walks[root]; ok {
		return vbs, nil
	}
	var out []snmp.Varbind
	for tr, vbs := range f.walks {
		if strings.HasPrefix(root, tr+".") {
			for _, vb := range vbs {
				if strings.HasPrefix(vb.Name, root+".") {
					out = append(out, vb)
				}
			}
		}
	}
	return out, nil
}

func (f *fakeWalker) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := slices.Clone(f.roots)
	slices.Sort(r)
	return r
}

// pollWith runs the interface plugin over w with options.
func pollWith(t *testing.T, w walker, version string, options map[string]any) ([]*metric.Group, error) {
	t.Helper()
	ip, req := testPlugin(t, w, version, options)
	return ip.Poll(context.Background(), req)
}

// testPlugin is the interface plugin with options, walking over w, and a
// request for polltest's resource at sw1 with an SNMP version's credential.
func testPlugin(t *testing.T, w walker, version string, options map[string]any) (*Interface, *poll.Request) {
	t.Helper()
	p, err := poll.New("interface", options)
	if err != nil {
		t.Fatal(err)
	}
	ip := p.(*Interface)
	ip.walker = w
	ip.now = func() time.Time { return polltest.Now.Add(time.Second) }
	return ip, &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now,
		Target: snmp.Target{Host: "sw1", Credential: configCred(version)}}
}

// byName indexes groups by interface_name.
func byName(t *testing.T, groups []*metric.Group) map[string]*metric.Group {
	t.Helper()
	m := map[string]*metric.Group{}
	for _, g := range groups {
		n := g.Dimension("interface_name")
		if _, dup := m[n]; dup {
			t.Fatalf("two groups named %q", n)
		}
		m[n] = g
	}
	return m
}

// want checks one metric's value and type.
func want(t *testing.T, g *metric.Group, name string, typ metric.Type, v uint64) {
	t.Helper()
	m, ok := g.Metric(name)
	if !ok {
		t.Errorf("%s: metric %s missing", g.Dimension("interface_name"), name)
		return
	}
	if m.Type != typ || m.Value.Uint64() != v || !m.Value.IsInteger() {
		t.Errorf("%s: %s = %v (%s), want %d (%s)", g.Dimension("interface_name"), name, m.Value, m.Type, v, typ)
	}
}

func absent(t *testing.T, g *metric.Group, names ...string) {
	t.Helper()
	for _, n := range names {
		if m, ok := g.Metric(n); ok {
			t.Errorf("%s: metric %s = %v, want absent", g.Dimension("interface_name"), n, m.Value)
		}
	}
}

func configCred(version string) *snmp.Credential {
	return &snmp.Credential{Version: version, Community: "public"}
}
