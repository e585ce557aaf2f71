package iface

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

var (
	fastEth = port{idx: 11001, descr: "FastEthernet3/0/1", name: "Fa3/0/1", alias: "uplink to core",
		ifType: 6, mtu: 1500, speed: 100_000_000, highSpeed: 100, admin: 1, oper: 1, base: 1000}
	stackPort = port{idx: 5185, descr: "StackPort3", ifType: 53, mtu: 0,
		speed: 4294967295, highSpeed: 10000, admin: 1, oper: 2, base: 7, noDot3: true}
)

func TestInterfaceHighCapacity(t *testing.T) {
	groups, err := pollWith(t, &fakeWalker{walks: device(fastEth, stackPort)}, "2c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Fatalf("got %d groups, want 2", len(groups))
	}
	if groups[0].Dimension("interface_name") != "StackPort3" {
		t.Errorf("groups not in ifIndex order: first is %q", groups[0].Dimension("interface_name"))
	}
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			t.Errorf("invalid group: %v", err)
		}
		if g.Type != "interface" || g.Interval != 60 || g.Resource != polltest.Resource ||
			g.CreationTimestamp != poll.Epoch(polltest.Now) || g.SchemaVersion != metric.SchemaVersion {
			t.Errorf("group header = %q %d %v %v %q", g.Type, g.Interval, g.Resource, g.CreationTimestamp, g.SchemaVersion)
		}
		for _, m := range g.Metrics {
			if m.Timestamp != poll.Epoch(polltest.Now.Add(time.Second)) {
				t.Errorf("%s timestamp %v, want the walk's arrival", m.Name, m.Timestamp)
			}
		}
	}
	g := byName(t, groups)["Fa3/0/1"]
	const hc = 1000 * 1000
	for name, v := range map[string]uint64{
		"bits_in": (hc + 6) * 8, "bits_out": (hc + 10) * 8,
		"unicast_packets_in": hc + 7, "multicast_packets_in": hc + 8, "broadcast_packets_in": hc + 9,
		"unicast_packets_out": hc + 11, "multicast_packets_out": hc + 12, "broadcast_packets_out": hc + 13,
		"total_packets_in": 3*hc + 24, "total_packets_out": 3*hc + 36,
		"discards_in": 1013, "errors_in": 1014, "discards_out": 1019, "errors_out": 1020,
		"errors_frame": 1202, "errors_crc": 1203, "errors_giants": 1213, "single_collision_frames": 1204,
		"multiple_collision_frames": 1205, "sqe_test_errors": 1206, "deferred_transmissions": 1207,
		"late_collisions": 1208, "excessive_collisions": 1209, "internal_mac_transmit_errors": 1210,
		"carrier_sense_errors": 1211, "internal_mac_receive_errors": 1216, "symbol_errors": 1218,
	} {
		want(t, g, name, metric.Counter, v)
	}
	for name, v := range map[string]uint64{
		"admin_state": 1, "oper_state": 1, "oper_admin_state_mismatch": 0, "mtu": 1500,
		"configured_speed": 100_000_000, "duplex_status": 3,
	} {
		want(t, g, name, metric.Gauge, v)
	}
	if len(g.Metrics) != maxInterfaceMetrics {
		t.Errorf("%d metrics, want every one (%d)", len(g.Metrics), maxInterfaceMetrics)
	}
	wantDims(t, g, "Fa3/0/1", "uplink to core", "FastEthernet3/0/1", "ethernetCsmacd", "100Mbps")

	s := byName(t, groups)["StackPort3"]
	wantDims(t, s, "StackPort3", NotSet, "StackPort3", "propVirtual", "10Gbps")
	want(t, s, "configured_speed", metric.Gauge, 10_000_000_000)
	want(t, s, "oper_admin_state_mismatch", metric.Gauge, 1)
	absent(t, s, "errors_crc", "duplex_status")
}

func wantDims(t *testing.T, g *metric.Group, name, alias, descr, media, speed string) {
	t.Helper()
	got := []string{}
	for _, d := range g.Dimensions {
		got = append(got, d.Name+"="+d.Value)
	}
	exp := []string{"interface_name=" + name, "alias=" + alias, "description=" + descr,
		"media_type=" + media, "port_speed=" + speed}
	if !slices.Equal(got, exp) {
		t.Errorf("dimensions = %q, want %q", got, exp)
	}
}

func Test32BitFallbackWithoutHC(t *testing.T) {
	p := fastEth
	p.noHC = true
	g := byName(t, mustPoll(t, device(p), "2c"))["Fa3/0/1"]
	for name, v := range map[string]uint64{
		"bits_in": (1000 + 10) * 8, "bits_out": (1000 + 16) * 8,
		"unicast_packets_in": 1011, "multicast_packets_in": 1102, "broadcast_packets_in": 1103,
		"unicast_packets_out": 1017, "multicast_packets_out": 1104, "broadcast_packets_out": 1105,
		"total_packets_in": 1011 + 1102 + 1103, "total_packets_out": 1017 + 1104 + 1105,
	} {
		want(t, g, name, metric.Counter, v)
	}
}

func TestNoIfXTableNamesFromIfDescrAndTotalsFromNUcast(t *testing.T) {
	p := fastEth
	p.noX = true
	g := byName(t, mustPoll(t, device(p), "2c"))["FastEthernet3/0/1"]
	if g == nil {
		t.Fatal("interface_name should fall back to ifDescr")
	}
	wantDims(t, g, "FastEthernet3/0/1", NotSet, "FastEthernet3/0/1", "ethernetCsmacd", "100Mbps")
	want(t, g, "total_packets_in", metric.Counter, 1011+1012) // ifInUcastPkts + ifInNUcastPkts
	want(t, g, "total_packets_out", metric.Counter, 1017+1018)
	want(t, g, "bits_in", metric.Counter, 1010*8)
	absent(t, g, "multicast_packets_in", "broadcast_packets_out")

	p.noNUcast = true
	g = byName(t, mustPoll(t, device(p), "2c"))["FastEthernet3/0/1"]
	absent(t, g, "total_packets_in", "total_packets_out")
	want(t, g, "unicast_packets_in", metric.Counter, 1011)
}

func TestTotalsNeverMixWidths(t *testing.T) {
	p := fastEth
	p.noMcast32 = true // HC present: sums of HC only
	g := byName(t, mustPoll(t, device(p), "2c"))["Fa3/0/1"]
	want(t, g, "total_packets_in", metric.Counter, 3*1000*1000+24)

	p.noHC = true // no HC, no 32-bit multicast: ucast + nucast
	g = byName(t, mustPoll(t, device(p), "2c"))["Fa3/0/1"]
	want(t, g, "total_packets_in", metric.Counter, 1011+1012)
	absent(t, g, "multicast_packets_in")
}

func TestV1WalksOnlyNeededNarrowColumns(t *testing.T) {
	w := &fakeWalker{walks: device(fastEth)}
	groups, err := pollWith(t, w, "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	asked := w.asked()
	for _, r := range asked {
		if slices.Contains([]string{ifTable.root, ifXTable.root, dot3StatsTable.root}, r) {
			t.Errorf("v1 walked the whole table %s", r)
		}
		for c := 6; c <= 13; c++ {
			if r == col(ifXTable, c, 0)[:len(col(ifXTable, c, 0))-2] {
				t.Errorf("v1 walked Counter64 column %s", r)
			}
		}
	}
	if wantN := len(ifTable.cols) + len(ifXTable.cols) - 8 + len(dot3StatsTable.cols); len(asked) != wantN {
		t.Errorf("v1 walked %d roots, want %d: %v", len(asked), wantN, asked)
	}
	g := byName(t, groups)["Fa3/0/1"]
	want(t, g, "bits_in", metric.Counter, 1010*8)
	want(t, g, "multicast_packets_in", metric.Counter, 1102)
	want(t, g, "errors_crc", metric.Counter, 1203)
	wantDims(t, g, "Fa3/0/1", "uplink to core", "FastEthernet3/0/1", "ethernetCsmacd", "100Mbps")
}

func TestV2WalksWholeTables(t *testing.T) {
	w := &fakeWalker{walks: device(fastEth)}
	mustPollWalker(t, w, "2c", nil)
	exp := []string{dot3StatsTable.root, ifTable.root, ifXTable.root}
	slices.Sort(exp)
	if got := w.asked(); !slices.Equal(got, exp) {
		t.Errorf("walked %v, want %v", got, exp)
	}
}

func TestDot3Optional(t *testing.T) {
	p := fastEth
	p.noDot3 = true // device without EtherLike-MIB
	g := byName(t, mustPoll(t, device(p), "2c"))["Fa3/0/1"]
	absent(t, g, "errors_crc", "errors_frame", "duplex_status")
	want(t, g, "bits_in", metric.Counter, (1000*1000+6)*8)

	w := &fakeWalker{walks: device(fastEth)}
	groups := mustPollWalker(t, w, "2c", map[string]any{"include_dot3": false})
	if slices.Contains(w.asked(), dot3StatsTable.root) {
		t.Error("include_dot3: false still walked dot3StatsTable")
	}
	absent(t, groups[0], "errors_crc", "late_collisions")
}

func TestDot3FailureIsPartial(t *testing.T) {
	boom := errors.New("boom")
	w := &fakeWalker{walks: device(fastEth), fail: map[string]error{dot3StatsTable.root: boom}}
	groups, err := pollWith(t, w, "2c", nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "walk dot3StatsTable") {
		t.Fatalf("err = %v, want the dot3 walk's error", err)
	}
	if len(groups) != 1 {
		t.Fatalf("got %d groups, want the interface without dot3 counters", len(groups))
	}
	absent(t, groups[0], "errors_crc")
	want(t, groups[0], "errors_in", metric.Counter, 1014)
	if got := poll.StatusOf(context.Background(), len(groups), err); got != metric.StatusPartialFailure {
		t.Errorf("status %d, want partial failure", got)
	}
}

func TestInterfaceTableFailureGivesNoGroups(t *testing.T) {
	for _, tbl := range []*table{ifTable, ifXTable} {
		boom := &snmp.Error{Device: "sw1:161", Op: "walk " + tbl.root, Kind: snmp.KindTimeout, Err: snmp.ErrTimeout}
		w := &fakeWalker{walks: device(fastEth), fail: map[string]error{tbl.root: boom}}
		groups, err := pollWith(t, w, "2c", nil)
		if len(groups) != 0 || !errors.Is(err, snmp.ErrTimeout) || !strings.Contains(err.Error(), "walk "+tbl.name) {
			t.Errorf("%s failing: %d groups, err %v", tbl.name, len(groups), err)
		}
		if got := poll.StatusOf(context.Background(), len(groups), err); got != metric.StatusTimeout {
			t.Errorf("%s failing: status %d, want timeout", tbl.name, got)
		}
	}
}

func TestFirstFailureIsReportedNotTheCancellationsItCauses(t *testing.T) {
	refused := &snmp.Error{Device: "sw1:161", Op: "walk", Kind: snmp.KindNetwork, Err: snmp.ErrNetwork}
	w := &fakeWalker{walks: device(fastEth), fail: map[string]error{ifXTable.root: refused},
		hang: map[string]bool{ifTable.root: true, dot3StatsTable.root: true}}
	groups, err := pollWith(t, w, "2c", nil)
	if len(groups) != 0 || !errors.Is(err, snmp.ErrNetwork) || errors.Is(err, context.Canceled) {
		t.Fatalf("got %d groups, err %v; want the ifXTable failure", len(groups), err)
	}
	if got := poll.StatusOf(context.Background(), 0, err); got != metric.StatusNetworkFailure {
		t.Errorf("status %d, want network failure", got)
	}
}

func TestHangingWalkEndsAtDeadlineAndStopsTheOthers(t *testing.T) {
	w := &fakeWalker{walks: device(fastEth), hang: map[string]bool{ifXTable.root: true, dot3StatsTable.root: true}}
	p, _ := poll.New("interface", nil)
	p.(*Interface).walker = w
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	groups, err := p.Poll(ctx, &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now})
	if len(groups) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %d groups, err %v", len(groups), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("poll took %v after a 50ms deadline", d)
	}
}

func TestEmptyDeviceIsMissingMetrics(t *testing.T) {
	groups, err := pollWith(t, &fakeWalker{walks: map[string][]snmp.Varbind{}}, "2c", nil)
	var se *poll.StatusError
	if len(groups) != 0 || !errors.As(err, &se) || se.Status != metric.StatusMissingMetrics {
		t.Fatalf("got %d groups, err %v; want missing metrics", len(groups), err)
	}
}

func TestNoPoolIsInternalFailure(t *testing.T) {
	p, _ := poll.New("interface", nil)
	_, err := p.Poll(context.Background(), &poll.Request{Resource: polltest.Resource, Interval: time.Minute})
	if !errors.Is(err, poll.ErrNoSNMP) || poll.StatusOf(context.Background(), 0, err) != metric.StatusInternalFailure {
		t.Fatalf("err = %v", err)
	}
}

func TestExclude(t *testing.T) {
	vlan := port{idx: 1, descr: "Vlan1", name: "Vl1", ifType: 53, admin: 1, oper: 1, base: 5}
	null := port{idx: 14501, descr: "Null0", name: "Nu0", ifType: 1, admin: 1, oper: 1, base: 5}
	groups := mustPollWalker(t, &fakeWalker{walks: device(vlan, fastEth, null)}, "2c",
		map[string]any{"exclude": []any{"Vl*", "Nu0"}})
	if len(groups) != 1 || groups[0].Dimension("interface_name") != "Fa3/0/1" {
		t.Fatalf("exclude kept %d groups", len(groups))
	}
}

func TestGarbageVarbindsAreSkipped(t *testing.T) {
	w := device(fastEth)
	w[ifTable.root] = append(w[ifTable.root],
		snmp.Varbind{Name: col(ifTable, 2, 7), Type: gosnmp.NoSuchInstance},        // no value
		vbInt(col(ifTable, 4, 11001)+".5", 9000),                                   // index with two sub-ids
		vbInt(ifTable.root+".4", 9000),                                             // no index
		vbInt(col(ifTable, 99, 11001), 1),                                          // unknown column
		vbInt(".1.3.6.1.2.1.2.2.10.4.11001", 1),                                    // another subtree
		vbStr(col(ifTable, 10, 11001), "text"),                                     // wrong type
		vbInt(col(ifTable, 4, 11002), -1),                                          // negative
		snmp.Varbind{Name: col(ifTable, 2, 11003), Type: gosnmp.Integer, Value: 7}, // descr not a string
		vbInt(col(ifTable, 4, 99999999999), 1500),                                  // index > 2^32
	)
	groups := mustPoll(t, w, "2c")
	if len(groups) != 1 {
		t.Fatalf("garbage created interfaces: %d groups", len(groups))
	}
	want(t, groups[0], "mtu", metric.Gauge, 1500)
	want(t, groups[0], "bits_in", metric.Counter, (1000*1000+6)*8)
}

func TestDot3OnlyRowsAreNotInterfaces(t *testing.T) {
	w := device(fastEth)
	w[dot3StatsTable.root] = append(w[dot3StatsTable.root], vbC32(col(dot3StatsTable, 3, 424242), 5))
	if groups := mustPoll(t, w, "2c"); len(groups) != 1 {
		t.Fatalf("a dot3 row with no interface made %d groups", len(groups))
	}
}

func TestStringsAreCleaned(t *testing.T) {
	p := fastEth
	p.alias = "bad\xff\x00\x00"
	p.name = "  "
	g := mustPoll(t, device(p), "2c")[0]
	if a := g.Dimension("alias"); a != "bad\uFFFD" {
		t.Errorf("alias = %q", a)
	}
	if n := g.Dimension("interface_name"); n != "FastEthernet3/0/1" {
		t.Errorf("blank ifName should fall back to ifDescr, got %q", n)
	}
}

func TestCountersStayExactAbove2to53(t *testing.T) {
	w := device(fastEth)
	for i, vb := range w[ifXTable.root] {
		if vb.Name == col(ifXTable, 6, 11001) {
			w[ifXTable.root][i].Value = uint64(1)<<60 + 1
		}
	}
	g := mustPoll(t, w, "2c")[0]
	want(t, g, "bits_in", metric.Counter, (1<<60+1)*8)
	if js := string(metric.AppendJSON(nil, g)); !strings.Contains(js, `"metric_value":9223372036854775816`) {
		t.Errorf("JSON lost precision: %s", js)
	}
}

func TestInterfaceOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]any
		err  string
	}{
		{map[string]any{"include_dot3": "maybe"}, `include_dot3: "maybe" is a string, want true or false`},
		{map[string]any{"exlcude": []any{"Vl*"}}, `exlcude: unknown key "exlcude" (check its spelling and indentation; known keys here: enrichment, exclude, include_dot3)`},
		{map[string]any{"exclude": []any{"ok", "Vl[1-"}}, `exclude[1]: "Vl[1-" is not a valid glob`},
		{map[string]any{"exclude": []any{"ok", []any{3}}}, "exclude[1]: found a list, want a string"},
		{map[string]any{"exclude": map[string]any{"a": 1}}, "exclude: want a string or a list of strings"},
	} {
		_, err := poll.New("interface", tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "polling plugin interface") {
			t.Errorf("options %v: err = %v, want %q", tc.opts, err, tc.err)
		}
	}
	if _, err := poll.New("interface", map[string]any{"include_dot3": false, "exclude": "Null0"}); err != nil {
		t.Errorf("good options: %v", err)
	}
}

func TestConcurrentPolls(t *testing.T) {
	p, _ := poll.New("interface", nil)
	p.(*Interface).walker = &fakeWalker{walks: device(fastEth, stackPort)}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			g, err := p.Poll(context.Background(), &poll.Request{Resource: polltest.Resource, Interval: time.Minute, Now: polltest.Now})
			if err == nil && len(g) != 2 {
				err = errors.New("wrong group count")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func mustPoll(t *testing.T, walks map[string][]snmp.Varbind, version string) []*metric.Group {
	t.Helper()
	return mustPollWalker(t, &fakeWalker{walks: walks}, version, nil)
}

func mustPollWalker(t *testing.T, w walker, version string, options map[string]any) []*metric.Group {
	t.Helper()
	groups, err := pollWith(t, w, version, options)
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

// sizingWalker is a fakeWalker that also takes walks' expected sizes, and
// records them by root.
type sizingWalker struct {
	*fakeWalker
	sizes sync.Map // root → the size of its last WalkSized
}

func (w *sizingWalker) WalkSized(ctx context.Context, t snmp.Target, root string, size int) ([]snmp.Varbind, error) {
	w.sizes.Store(root, size)
	return w.Walk(ctx, t, root)
}

// TestWalksSizedFromLastPoll: a device's first poll expects nothing, the
// next one, per table, what the last returned; the groups are the same.
func TestWalksSizedFromLastPoll(t *testing.T) {
	w := &sizingWalker{fakeWalker: &fakeWalker{walks: device(fastEth, stackPort)}}
	ip, req := testPlugin(t, w, "2c", nil)
	var first []*metric.Group
	for i, tables := range []map[string]int{
		{ifTable.root: 0, ifXTable.root: 0, dot3StatsTable.root: 0},
		{ifTable.root: len(w.walks[ifTable.root]), ifXTable.root: len(w.walks[ifXTable.root]),
			dot3StatsTable.root: len(w.walks[dot3StatsTable.root])},
	} {
		groups, err := ip.Poll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for root, want := range tables {
			if got, _ := w.sizes.Load(root); got != want {
				t.Errorf("poll %d: walk %s expected %v varbinds, want %d", i+1, root, got, want)
			}
		}
		if i == 0 {
			first = groups
			continue
		}
		if len(groups) != len(first) {
			t.Fatalf("poll 2: %d groups, poll 1 %d", len(groups), len(first))
		}
		for j := range groups {
			if a, b := string(metric.AppendJSON(nil, groups[j])), string(metric.AppendJSON(nil, first[j])); a != b {
				t.Errorf("group %d differs:\n%s\n%s", j, a, b)
			}
		}
	}
}

// intoWalker is a walker that returns each walk in the buffer Poll hands
// it (snmp.Pool.WalkSizedInto), and records what it was handed.
type intoWalker struct {
	*fakeWalker
	mu            sync.Mutex
	reused, stale int // buffers with room handed back; with values left in them
}

func (w *intoWalker) WalkSizedInto(ctx context.Context, t snmp.Target, root string, _ int, buf []snmp.Varbind) ([]snmp.Varbind, error) {
	vbs, err := w.Walk(ctx, t, root)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if cap(buf) > 0 {
		w.reused++
	}
	for _, vb := range buf[:cap(buf)] {
		if vb != (snmp.Varbind{}) {
			w.stale++
			break
		}
	}
	w.mu.Unlock()
	return append(buf[:0], vbs...), nil
}

func (w *intoWalker) WalkSized(ctx context.Context, t snmp.Target, root string, size int) ([]snmp.Varbind, error) {
	return w.WalkSizedInto(ctx, t, root, size, nil)
}

// TestWalkResultsReused: a poll hands its walks' results back, emptied,
// and the next polls walk into them; the groups are the same.
func TestWalkResultsReused(t *testing.T) {
	w := &intoWalker{fakeWalker: &fakeWalker{walks: device(fastEth, stackPort)}}
	ip, req := testPlugin(t, w, "2c", nil)
	var first []*metric.Group
	for i := range 5 {
		groups, err := ip.Poll(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = groups
			continue
		}
		if len(groups) != len(first) || len(groups) == 0 {
			t.Fatalf("poll %d: %d groups, poll 1 %d", i+1, len(groups), len(first))
		}
		for j := range groups {
			if a, b := string(metric.AppendJSON(nil, groups[j])), string(metric.AppendJSON(nil, first[j])); a != b {
				t.Errorf("poll %d: group %d differs:\n%s\n%s", i+1, j, a, b)
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reused == 0 { // the walks of a poll run concurrently: not every one finds a result free
		t.Error("no walk was handed an earlier result to fill")
	}
	if w.stale != 0 {
		t.Errorf("%d walks were handed a result still holding values", w.stale)
	}
}

// TestWalkFreeBudget: the free list keeps results emptied and within its
// byte budget, whatever is handed back.
func TestWalkFreeBudget(t *testing.T) {
	f := walkFree{ch: make(chan []snmp.Varbind, 1024)}
	big := int(walkBufsBudget / varbindSize / 4) // four of these fill the budget
	for range 10 {
		b := make([]snmp.Varbind, 3, big)
		b[2] = snmp.Varbind{Name: ".1.3.6", Value: uint(1)}
		f.put(b)
		if h := f.held.Load(); h > walkBufsBudget {
			t.Fatalf("holds %d bytes, budget %d", h, walkBufsBudget)
		}
	}
	if n := len(f.ch); n != 4 {
		t.Errorf("kept %d results of %d bytes, want 4 within %d", n, int64(big)*varbindSize, walkBufsBudget)
	}
	for b := f.get(); b != nil; b = f.get() {
		if len(b) != 0 || b[:3][2] != (snmp.Varbind{}) {
			t.Fatalf("got %d values, %v at 2: want an emptied result", len(b), b[:3][2])
		}
	}
	if h := f.held.Load(); h != 0 {
		t.Errorf("empty list holds %d bytes", h)
	}
	f.put(make([]snmp.Varbind, 0, 2*walkBufsBudget/varbindSize)) // larger than the budget
	if len(f.ch) != 0 || f.held.Load() != 0 {
		t.Errorf("kept a result larger than the budget")
	}
}
