package iface

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// runInterfaceCheck polls agent with the interface plugin through a Runner
// and a real pool, as the poller does.
func runInterfaceCheck(t *testing.T, addr string, cred snmp.Credential, snmpCfg poll.SNMPOptions) (int, []*metric.Group) {
	t.Helper()
	return polltest.RunCheck(t, "interface", addr, cred, snmpCfg)
}

// truth is what snmpbulkwalk says about the three tables, by OID.
type truth map[string]snmpagent.WalkRow

func walkTruth(t *testing.T, args []string, addr string) truth {
	tr := truth{}
	for _, tbl := range []*table{ifTable, ifXTable, dot3StatsTable} {
		for _, r := range snmpagent.BulkWalk(t, args, addr, tbl.root) {
			tr[r.OID] = r
		}
	}
	return tr
}

func (tr truth) num(tbl *table, c int, idx uint32) (uint64, bool) {
	r, ok := tr[fmt.Sprintf("%s.%d.%d", tbl.root, c, idx)]
	if !ok || r.Type == "Hex-STRING" {
		return 0, false
	}
	v, err := strconv.ParseUint(r.Value, 10, 64)
	return v, err == nil
}

func (tr truth) str(tbl *table, c int, idx uint32) string {
	r, ok := tr[fmt.Sprintf("%s.%d.%d", tbl.root, c, idx)]
	if !ok {
		return ""
	}
	b, _ := hex.DecodeString(strings.ReplaceAll(r.Value, " ", ""))
	s := strings.TrimRight(string(b), "\x00")
	return strings.ToValidUTF8(s, "\uFFFD")
}

type opt struct {
	v  uint64
	ok bool
}

func of(v uint64, ok bool) opt { return opt{v, ok} }

// expected is one interface as the ground truth describes it.
type expected struct {
	dims    []string
	metrics map[string]uint64
}

// expect computes, from the truth alone, the group the plugin should build
// for idx (the rules of README.md). v1 ignores the Counter64 columns.
func (tr truth) expect(idx uint32, v1 bool) expected {
	m := map[string]uint64{}
	set := func(name string, o opt) {
		if o.ok {
			m[name] = o.v
		}
	}
	pick := func(hc int, tbl *table, c int) (uint64, bool) {
		if v, ok := tr.num(ifXTable, hc, idx); ok && !v1 {
			return v, true
		}
		return tr.num(tbl, c, idx)
	}
	times8 := func(o opt) opt { return opt{o.v * 8, o.ok} }
	set("bits_in", times8(of(pick(6, ifTable, 10))))
	set("bits_out", times8(of(pick(10, ifTable, 16))))
	set("unicast_packets_in", of(pick(7, ifTable, 11)))
	set("unicast_packets_out", of(pick(11, ifTable, 17)))
	set("multicast_packets_in", of(pick(8, ifXTable, 2)))
	set("multicast_packets_out", of(pick(12, ifXTable, 4)))
	set("broadcast_packets_in", of(pick(9, ifXTable, 3)))
	set("broadcast_packets_out", of(pick(13, ifXTable, 5)))
	sum := func(parts ...[2]any) (uint64, bool) {
		var s uint64
		for _, p := range parts {
			v, ok := tr.num(p[0].(*table), p[1].(int), idx)
			if !ok {
				return 0, false
			}
			s += v
		}
		return s, true
	}
	for dir, c := range map[string][7]int{"in": {7, 8, 9, 11, 2, 3, 12}, "out": {11, 12, 13, 17, 4, 5, 18}} {
		v, ok := sum([2]any{ifXTable, c[0]}, [2]any{ifXTable, c[1]}, [2]any{ifXTable, c[2]})
		if !ok || v1 {
			v, ok = sum([2]any{ifTable, c[3]}, [2]any{ifXTable, c[4]}, [2]any{ifXTable, c[5]})
		}
		if !ok {
			v, ok = sum([2]any{ifTable, c[3]}, [2]any{ifTable, c[6]})
		}
		set("total_packets_"+dir, opt{v, ok})
	}
	for name, c := range map[string]int{"discards_in": 13, "errors_in": 14, "discards_out": 19, "errors_out": 20} {
		set(name, of(tr.num(ifTable, c, idx)))
	}
	for name, c := range map[string]int{"errors_frame": 2, "errors_crc": 3, "errors_giants": 13,
		"single_collision_frames": 4, "multiple_collision_frames": 5, "sqe_test_errors": 6,
		"deferred_transmissions": 7, "late_collisions": 8, "excessive_collisions": 9,
		"internal_mac_transmit_errors": 10, "carrier_sense_errors": 11, "internal_mac_receive_errors": 16,
		"symbol_errors": 18, "duplex_status": 19} {
		set(name, of(tr.num(dot3StatsTable, c, idx)))
	}
	admin, okA := tr.num(ifTable, 7, idx)
	oper, okO := tr.num(ifTable, 8, idx)
	set("admin_state", opt{admin, okA})
	set("oper_state", opt{oper, okO})
	mismatch := uint64(0)
	if admin != oper {
		mismatch = 1
	}
	set("oper_admin_state_mismatch", opt{mismatch, okA && okO})
	set("mtu", of(tr.num(ifTable, 4, idx)))
	speed, okS := tr.num(ifTable, 5, idx)
	high, okH := tr.num(ifXTable, 15, idx)
	if okH && (!okS || speed == 4294967295 || high*1e6 > speed+5e5) {
		speed, okS = high*1e6, true
	}
	set("configured_speed", opt{speed, okS})

	notSet := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return NotSet
		}
		return s
	}
	name := tr.str(ifXTable, 1, idx)
	if strings.TrimSpace(name) == "" {
		name = tr.str(ifTable, 2, idx)
	}
	media := NotSet
	if v, ok := tr.num(ifTable, 3, idx); ok {
		media = ifTypeName(v)
	}
	portSpeedDim := NotSet
	if okS {
		portSpeedDim = portSpeed(speed)
	}
	return expected{metrics: m, dims: []string{notSet(name), notSet(tr.str(ifXTable, 18, idx)),
		notSet(tr.str(ifTable, 2, idx)), media, portSpeedDim}}
}

// indices are the ifIndexes with a row in a column the plugin reads.
func (tr truth) indices() []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for oid := range tr {
		for _, tbl := range []*table{ifTable, ifXTable} {
			if c, idx, ok := parseInstance(oid, tbl.root); ok && c < len(tbl.byCol) && tbl.byCol[c] != 0 && !seen[idx] {
				seen[idx] = true
				out = append(out, idx)
			}
		}
	}
	return out
}

// compare checks groups against the truth. Counters may have grown between
// our poll and the truth's walk by up to slack (0 = exact); gauges and
// dimensions are exact.
func compare(t *testing.T, tr truth, groups []*metric.Group, v1 bool, slack uint64) {
	t.Helper()
	got := byName(t, groups)
	n := 0
	for _, idx := range tr.indices() {
		exp := tr.expect(idx, v1)
		if len(exp.metrics) == 0 {
			continue
		}
		n++
		g := got[exp.dims[0]]
		if g == nil {
			t.Errorf("ifIndex %d (%s): no group", idx, exp.dims[0])
			continue
		}
		var dims []string
		for _, d := range g.Dimensions {
			dims = append(dims, d.Value)
		}
		if fmt.Sprint(dims) != fmt.Sprint(exp.dims) {
			t.Errorf("ifIndex %d: dimensions %q, want %q", idx, dims, exp.dims)
		}
		for _, m := range g.Metrics {
			want, ok := exp.metrics[m.Name]
			if !ok {
				t.Errorf("ifIndex %d: unexpected metric %s", idx, m.Name)
				continue
			}
			v := m.Value.Uint64()
			if m.Type == metric.Gauge || slack == 0 {
				if v != want {
					t.Errorf("ifIndex %d: %s = %d, snmpbulkwalk says %d", idx, m.Name, v, want)
				}
			} else if want < v || want-v > slack {
				t.Errorf("ifIndex %d: counter %s = %d, snmpbulkwalk read %d later (slack %d)", idx, m.Name, v, want, slack)
			}
		}
		if len(g.Metrics) != len(exp.metrics) {
			t.Errorf("ifIndex %d: %d metrics, want %d", idx, len(g.Metrics), len(exp.metrics))
		}
	}
	if n != len(groups) {
		t.Errorf("%d groups, the truth has %d interfaces", len(groups), n)
	}
}

// sixteenPorts writes a 16-port variant of the Cisco recording (the same
// device with its interface tables cut to 20 rows) for the packet count.
func sixteenPorts(t *testing.T) string {
	keep := map[string]bool{"1": true, "14501": true, "11101": true, "11102": true}
	for i := 11001; i <= 11016; i++ {
		keep[strconv.Itoa(i)] = true
	}
	f, err := os.Open(filepath.Join(snmpagent.SnmpsimExamples, "cisco_16_switch.snmprec.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		oid, _, _ := strings.Cut(line, "|")
		skip := false
		for _, tbl := range []*table{ifTable, ifXTable, dot3StatsTable} {
			if strings.HasPrefix("."+oid, tbl.root+".") {
				skip = !keep[oid[strings.LastIndexByte(oid, '.')+1:]]
			}
		}
		if !skip {
			b.WriteString(line + "\n")
		}
	}
	path := filepath.Join(t.TempDir(), "sixteen_ports.snmprec")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInterfaceAgainstSnmpsim(t *testing.T) {
	polltest.Integration(t, "snmpsimd", "snmpbulkwalk")
	agent := snmpagent.StartSnmpsim(t, "cisco_16_switch", sixteenPorts(t))
	for _, community := range []string{"cisco_16_switch", "sixteen_ports"} {
		t.Run(community, func(t *testing.T) {
			status, groups := runInterfaceCheck(t, agent.Addr(), snmp.Credential{Version: "2c", Community: community}, poll.SNMPOptions{})
			if status != metric.StatusSuccess {
				t.Fatalf("status %s", metric.StatusName(status))
			}
			tr := walkTruth(t, []string{"-v2c", "-c", community}, agent.Addr())
			compare(t, tr, groups, false, 0)
			if min := map[string]int{"cisco_16_switch": 55, "sixteen_ports": 18}[community]; len(groups) < min {
				t.Errorf("%d interface groups, want at least %d", len(groups), min)
			}
			fa := byName(t, groups)["Fa3/0/1"]
			if fa == nil || fa.Dimension("media_type") != "ethernetCsmacd" || fa.Dimension("port_speed") == NotSet {
				t.Errorf("Fa3/0/1 = %+v", fa)
			}
		})
	}
	t.Run("tables send fewer packets than columns", func(t *testing.T) {
		for _, community := range []string{"cisco_16_switch", "sixteen_ports"} {
			tables := packetsToWalk(t, agent, community, false)
			columns := packetsToWalk(t, agent, community, true)
			t.Logf("%s, max-repetitions %d: tables %d packets, columns %d", community, snmp.DefaultMaxRepetitions, tables, columns)
			if tables > columns {
				t.Errorf("%s: walking tables took %d packets, columns %d: revisit table.walkRoots", community, tables, columns)
			}
		}
	})
	t.Run("v1 against the recording", func(t *testing.T) {
		status, groups := runInterfaceCheck(t, agent.Addr(), snmp.Credential{Version: "1", Community: "sixteen_ports"}, poll.SNMPOptions{})
		if status != metric.StatusSuccess {
			t.Fatalf("status %s", metric.StatusName(status))
		}
		compare(t, walkTruth(t, []string{"-v2c", "-c", "sixteen_ports"}, agent.Addr()), groups, true, 0)
	})
}

// packetsToWalk counts the requests a v2c walk of the three tables sends
// with the default max-repetitions, walking whole tables or only the
// needed columns (what v1 does).
func packetsToWalk(t *testing.T, agent *snmpagent.Agent, community string, columns bool) int {
	t.Helper()
	sent := 0
	g := &gosnmp.GoSNMP{Target: agent.Host, Port: uint16(agent.Port), Community: community,
		Version: gosnmp.Version2c, Timeout: 5 * time.Second, Retries: 1, MaxRepetitions: snmp.DefaultMaxRepetitions,
		OnSent: func(*gosnmp.GoSNMP) { sent++ }}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	for _, tbl := range []*table{ifTable, ifXTable, dot3StatsTable} {
		roots := []string{tbl.root}
		if columns {
			roots = roots[:0]
			for _, c := range tbl.cols {
				roots = append(roots, tbl.root+"."+strconv.Itoa(c.num))
			}
		}
		for _, r := range roots {
			if _, err := g.BulkWalkAll(r); err != nil {
				t.Fatalf("walk %s: %v", r, err)
			}
		}
	}
	return sent
}

func TestInterfaceAgainstSnmpd(t *testing.T) {
	polltest.Integration(t, "snmpd", "snmpbulkwalk")
	agent := snmpagent.StartSnmpd(t)
	args := []string{"-v2c", "-c", agent.Community}
	// Counters of live interfaces move between our poll and the truth's
	// walk, by at most the test's own traffic.
	const slack = 8 << 26
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			status, groups := runInterfaceCheck(t, agent.Addr(), snmp.Credential{Version: version, Community: agent.Community}, poll.SNMPOptions{})
			if status != metric.StatusSuccess {
				t.Fatalf("status %s", metric.StatusName(status))
			}
			lo := byName(t, groups)["lo"]
			if lo == nil || lo.Dimension("media_type") != "softwareLoopback" {
				t.Fatalf("no loopback group among %d", len(groups))
			}
			compare(t, walkTruth(t, args, agent.Addr()), groups, version == "1", slack)
		})
	}
	t.Run("v3 authPriv", func(t *testing.T) {
		u := snmpagent.SnmpdUsers[0]
		cred := snmp.Credential{Version: "3", Username: u.Name, SecurityLevel: u.Level,
			AuthProtocol: u.AuthProto, AuthPassphrase: u.AuthPass, PrivProtocol: u.PrivProto, PrivPassphrase: u.PrivPass}
		status, groups := runInterfaceCheck(t, agent.Addr(), cred, poll.SNMPOptions{})
		if status != metric.StatusSuccess || byName(t, groups)["lo"] == nil {
			t.Fatalf("status %s, %d groups", metric.StatusName(status), len(groups))
		}
	})
}

func TestInterfaceSilentDeviceTimesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: waits for SNMP timeouts")
	}
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	cfg := poll.SNMPOptions{Timeout: 200 * time.Millisecond, Retries: 1}
	status, groups := runInterfaceCheck(t, silent.LocalAddr().String(), snmp.Credential{Version: "2c", Community: "public"}, cfg)
	if status != metric.StatusTimeout || len(groups) != 0 {
		t.Errorf("status %s with %d groups, want timeout and none", metric.StatusName(status), len(groups))
	}
	// 2 tries × 200ms per walk, the walks running side by side.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timing out took %v", d)
	}
}

func TestInterfaceClosedPortIsNetworkFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real sockets")
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close() // nothing listens: the kernel answers port unreachable
	cfg := poll.SNMPOptions{Timeout: 500 * time.Millisecond, Retries: 0}
	status, groups := runInterfaceCheck(t, addr, snmp.Credential{Version: "2c", Community: "public"}, cfg)
	if status != metric.StatusNetworkFailure || len(groups) != 0 {
		t.Errorf("status %s with %d groups", metric.StatusName(status), len(groups))
	}
}
