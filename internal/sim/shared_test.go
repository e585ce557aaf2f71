package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// startShared starts a shared-port farm on a free port, or skips where the
// mode does not exist.
func startShared(t *testing.T, o Options) *Farm {
	t.Helper()
	integration(t)
	if !sharedSupported {
		t.Skip("shared-port mode needs Linux")
	}
	o.SharedPort = true
	f := startFarm(t, o)
	if got := fmt.Sprintf("%T", f.srv); got != "*sim.sharedServer" {
		t.Fatalf("server %s, want the shared-port server", got)
	}
	return f
}

// getRequest is a marshalled v2c GET of oids.
func getRequest(t testing.TB, id uint32, oids ...string) []byte {
	t.Helper()
	p := v2req(gosnmp.GetRequest, oids...)
	p.RequestID = id
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeResponse decodes a v2c answer.
func decodeResponse(t testing.TB, b []byte) *gosnmp.SnmpPacket {
	t.Helper()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	p, err := dec.SnmpDecodePacket(b)
	if err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return p
}

// rawClient is an unconnected UDP socket with a large receive buffer: it
// sees every answer and its true source address.
func rawClient(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSharedPortLayout: device i at 127.1.0.1+i, all on one port, in
// Device fields and the inventory; devices past .255 answer too.
func TestSharedPortLayout(t *testing.T) {
	f := startShared(t, Options{Devices: 300, Templates: []string{"switch48", "router400"}})
	port := f.Devices()[0].Port
	if port == 0 {
		t.Fatal("port 0 after start")
	}
	var inv bytes.Buffer
	if err := f.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&inv).ReadAll()
	if err != nil || len(rows) != 301 {
		t.Fatalf("inventory: %d rows, %v", len(rows), err)
	}
	for i, d := range f.Devices() {
		want := sharedAddr(netip.MustParseAddr(DefaultSharedAddr), i).String()
		if d.Host != want || d.Port != port || d.Addr != net.JoinHostPort(want, strconv.Itoa(port)) {
			t.Errorf("device %d at %s, want %s:%d", i, d.Addr, want, port)
		}
		if rows[i+1][0] != d.Name || rows[i+1][1] != d.Addr {
			t.Errorf("inventory row %d: %v, want %s at %s", i+1, rows[i+1], d.Name, d.Addr)
		}
	}
	for i, want := range map[int]string{254: "127.1.0.255", 255: "127.1.1.0", 299: "127.1.1.44"} {
		d := f.Devices()[i]
		if d.Host != want {
			t.Errorf("device %d at %s, want %s", i, d.Host, want)
		}
		p, err := dial(t, d, 2*time.Second).Get([]string{".1.3.6.1.2.1.1.5.0"})
		if err != nil || string(p.Variables[0].Value.([]byte)) != d.Name {
			t.Errorf("device %d at %s: %v %v", i, d.Addr, p, err)
		}
	}
}

// TestSharedPortNetSNMP: net-snmp's tools read every device of a
// shared-port farm exactly as the same device of a socket-per-device farm
// (same seed, frozen clock: same counters), over v2c and v3, and the
// devices answer their own data.
func TestSharedPortNetSNMP(t *testing.T) {
	snmpagent.Need(t, "snmpget", "snmpbulkwalk")
	clock := newTestClock()
	users := []V3User{{Name: "sim", AuthProto: "SHA256", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}}
	o := Options{Devices: 2, Templates: []string{"switch48", "router400"}, Seed: 5, Now: clock.Now, V3Users: users}
	shared := startShared(t, o)
	o.SharedPort = false
	ref := startFarm(t, o)
	v2 := []string{"-v2c", "-c", "public"}
	v3 := snmpagent.V3User{Name: "sim", Level: "authPriv", AuthProto: "SHA256", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}.Args()
	const ifHCIn = ".1.3.6.1.2.1.31.1.1.1.6"
	var names []string
	for i, d := range shared.Devices() {
		r := ref.Devices()[i]
		for _, args := range [][]string{v2, v3} {
			for _, root := range []string{".1.3.6.1.2.1.1", ifHCIn} {
				got := snmpagent.BulkWalk(t, args, d.Addr, root)
				diffRows(t, fmt.Sprintf("%s %s %s", d.Addr, args[0], root), got, snmpagent.BulkWalk(t, args, r.Addr, root))
			}
		}
		rows := netsnmp(t, "snmpget", v2, d.Addr, ".1.3.6.1.2.1.1.5.0", ifHCIn+".10101")
		want, _ := d.CounterAt(ifHCIn+".10101", clock.Now())
		if i == 1 {
			rows = netsnmp(t, "snmpget", v2, d.Addr, ".1.3.6.1.2.1.1.5.0", ifHCIn+".501")
			want, _ = d.CounterAt(ifHCIn+".501", clock.Now())
		}
		if len(rows) != 2 || rows[1].Value != strconv.FormatUint(want, 10) {
			t.Errorf("%s: %v, want counter %d", d.Addr, rows, want)
		}
		names = append(names, rows[0].Value)
	}
	if names[0] == names[1] {
		t.Errorf("both devices answer sysName %s", names[0])
	}
}

// TestSharedPortCollector: internal/snmp's Pool (shared mux socket and
// connected sockets, both accept only answers from the address they asked)
// reads shared-port devices over v2c and v3.
func TestSharedPortCollector(t *testing.T) {
	users := []V3User{{Name: "sim", AuthProto: "SHA", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}}
	f := startShared(t, Options{Devices: 3, Templates: []string{"switch48", "router400"}, V3Users: users})
	ctx := context.Background()
	creds := []snmp.Credential{
		{Version: "2c", Community: "public"},
		{Version: "3", Username: "sim", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "sim-auth-pass",
			PrivProtocol: "AES", PrivPassphrase: "sim-priv-pass"},
	}
	for _, connected := range []bool{false, true} {
		pool := snmp.NewPool(snmp.PoolOptions{Logger: testLogger(t), ConnectedSockets: connected})
		for _, d := range f.Devices() {
			for _, cred := range creds {
				what := fmt.Sprintf("%s v%s connected=%v", d.Addr, cred.Version, connected)
				vbs, err := pool.Get(ctx, target(d, cred), []string{".1.3.6.1.2.1.1.5.0"})
				if err != nil || len(vbs) != 1 || string(vbs[0].Value.([]byte)) != d.Name {
					t.Errorf("%s: get sysName: %v %v", what, vbs, err)
				}
				vbs, err = pool.Walk(ctx, target(d, cred), ".1.3.6.1.2.1.31.1.1.1.1")
				if want := map[string]int{"switch48": 55, "router400": 400}[d.Template]; err != nil || len(vbs) != want {
					t.Errorf("%s: walk ifName: %d rows, want %d: %v", what, len(vbs), want, err)
				}
			}
		}
		_ = pool.Close()
	}
}

// TestSharedPortAnswerSource: each answer comes from the device's own
// address and the shared port; a datagram to an address of the range that
// is no device's is dropped and counted (Stats, self-metrics).
func TestSharedPortAnswerSource(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := startShared(t, Options{Devices: 3, Registerer: reg})
	c := rawClient(t)
	req := getRequest(t, 1, ".1.3.6.1.2.1.1.5.0")
	buf := make([]byte, 4096)
	for _, d := range f.Devices() {
		want := netip.MustParseAddrPort(d.Addr)
		if _, err := c.WriteToUDPAddrPort(req, want); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("%s: %v", d.Addr, err)
		}
		if from != want {
			t.Errorf("answer of %s from %s", want, from)
		}
		if p := decodeResponse(t, buf[:n]); string(p.Variables[0].Value.([]byte)) != d.Name {
			t.Errorf("%s answered sysName %v, want %s", want, p.Variables[0].Value, d.Name)
		}
	}
	stray := netip.AddrPortFrom(sharedAddr(netip.MustParseAddr(DefaultSharedAddr), 3), uint16(f.Devices()[0].Port))
	if _, err := c.WriteToUDPAddrPort(req, stray); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, from, err := c.ReadFromUDPAddrPort(buf); err == nil {
		t.Errorf("%s (no device) answered from %s", stray, from)
	}
	if s := f.Stats(); s.NoDevice != 1 || s.Requests != 3 || s.QueueFull != 0 {
		t.Errorf("stats %+v, want 3 requests and 1 to no device", s)
	}
	if v := promtest.ToFloat64(prometheusCounter(t, reg, "panoptes_sim_dropped_total", "no_device")); v != 1 {
		t.Errorf("dropped{no_device} %v, want 1", v)
	}
	if v := promtest.ToFloat64(prometheusCounter(t, reg, "panoptes_sim_requests_total", "")); v != 3 {
		t.Errorf("requests_total %v, want 3", v)
	}
}

// TestSharedPortFaults: loss, silence, latency (the delayed answer still
// comes from the device's address: gosnmp's socket is connected),
// restarts, per-device stats, and Close with answers pending.
func TestSharedPortFaults(t *testing.T) {
	clock := newTestClock()
	f := startShared(t, Options{Devices: 2, Now: clock.Now})
	d, other := f.Devices()[1], f.Devices()[0]
	get := func(timeout time.Duration) (time.Duration, error) {
		start := time.Now()
		_, err := dial(t, d, timeout).Get([]string{".1.3.6.1.2.1.1.3.0"})
		return time.Since(start), err
	}
	if _, err := get(time.Second); err != nil {
		t.Fatalf("healthy device: %v", err)
	}
	d.SetFault(0, 1, false)
	if _, err := get(150 * time.Millisecond); err == nil {
		t.Error("loss 1: answered")
	}
	if _, err := dial(t, other, time.Second).Get([]string{".1.3.6.1.2.1.1.3.0"}); err != nil {
		t.Errorf("the other device fails while one loses everything: %v", err)
	}
	d.SetFault(0, 0, true)
	if _, err := get(150 * time.Millisecond); err == nil {
		t.Error("silent: answered")
	}
	d.SetFault(300*time.Millisecond, 0, false)
	if _, err := get(150 * time.Millisecond); err == nil {
		t.Error("latency 300ms, timeout 150ms: answered")
	}
	if took, err := get(2 * time.Second); err != nil || took < 300*time.Millisecond {
		t.Errorf("latency 300ms: %v after %v", err, took)
	}
	d.SetFault(0, 0.5, false)
	g := dial(t, d, 30*time.Millisecond)
	ok := 0
	for range 60 {
		if _, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"}); err == nil {
			ok++
		}
	}
	if ok < 15 || ok > 45 {
		t.Errorf("loss 0.5: %d of 60 answered", ok)
	}
	d.SetFault(0, 0, false)
	clock.Add(100 * time.Second)
	g = dial(t, d, time.Second)
	if up := getUint(t, g, ".1.3.6.1.2.1.1.3.0"); up < 10000 {
		t.Errorf("sysUpTime %d after 100 s", up)
	}
	f.RestartAll()
	if up := getUint(t, g, ".1.3.6.1.2.1.1.3.0"); up != 0 {
		t.Errorf("sysUpTime %d right after a restart, want 0", up)
	}
	if s := d.Stats(); s.Lost < 16 || s.Silent != 1 || s.Requests < 66 {
		t.Errorf("device stats %+v", s)
	}
	if s := other.Stats(); s.Requests != 1 || s.Lost != 0 {
		t.Errorf("other device's stats %+v, want 1 request", s)
	}
	// Close cancels a pending answer promptly and frees the port
	d.SetFault(time.Hour, 0, false)
	_, _ = get(50 * time.Millisecond)
	start := time.Now()
	if err := f.Close(); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("close: %v after %v", err, time.Since(start))
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: d.Port})
	if err != nil {
		t.Errorf("port %d still bound after Close: %v", d.Port, err)
	} else {
		_ = c.Close()
	}
}

// startSharedWorkers starts a shared-port farm with a given number of
// workers (GOMAXPROCS-1 at Start), whatever the machine.
func startSharedWorkers(t *testing.T, o Options, workers int) *Farm {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers + 1))
	f := startShared(t, o)
	if got := reflect.ValueOf(f.srv).Elem().FieldByName("workers").Len(); got != workers {
		t.Fatalf("%d workers, want %d", got, workers)
	}
	return f
}

// TestSharedPortBurst: 500 devices served by 3 sockets answer bursts of
// 500 concurrent GETs (one per device, sent back to back) without losing
// any, each from its address with its own name.
func TestSharedPortBurst(t *testing.T) {
	const n, rounds = 500, 3
	f := startSharedWorkers(t, Options{Devices: n}, 3)
	c := rawClient(t)
	buf := make([]byte, 4096)
	for round := range rounds {
		for i, d := range f.Devices() {
			if _, err := c.WriteToUDPAddrPort(getRequest(t, uint32(round*n+i), ".1.3.6.1.2.1.1.5.0"), netip.MustParseAddrPort(d.Addr)); err != nil {
				t.Fatal(err)
			}
		}
		seen := make([]bool, n)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for got := 0; got < n; got++ {
			m, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("round %d: %d of %d answers, then %v; stats %+v", round, got, n, err, f.Stats())
			}
			p := decodeResponse(t, buf[:m])
			i := int(p.RequestID) - round*n
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("round %d: unexpected request id %d", round, p.RequestID)
			}
			seen[i] = true
			d := f.Devices()[i]
			if from.String() != d.Addr || string(p.Variables[0].Value.([]byte)) != d.Name {
				t.Errorf("request to %s answered by %s: %s", d.Addr, from, p.Variables[0].Value)
			}
		}
	}
	if s := f.Stats(); s.Requests != n*rounds || s.QueueFull != 0 || s.NoDevice != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestSharedPortConcurrentWalks: several managers walk the same devices at
// once; the kernel spreads their flows over the workers, so two workers may
// serve one device concurrently (run with -race).
func TestSharedPortConcurrentWalks(t *testing.T) {
	f := startSharedWorkers(t, Options{Devices: 2, Templates: []string{"router400", "switch48"}}, 2)
	var wg sync.WaitGroup
	for i := range 8 {
		d := f.Devices()[i%2]
		g := dial(t, d, 2*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				vbs, err := g.BulkWalkAll(".1.3.6.1.2.1.31.1.1.1.1")
				if want := map[string]int{"switch48": 55, "router400": 400}[d.Template]; err != nil || len(vbs) != want {
					t.Errorf("%s: walk ifName: %d rows, want %d: %v", d.Addr, len(vbs), want, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSharedPortErrors(t *testing.T) {
	integration(t)
	if !sharedSupported {
		if _, err := Start(context.Background(), Options{SharedPort: true}); err == nil || !strings.Contains(err.Error(), "needs Linux") {
			t.Errorf("shared port off Linux: %v", err)
		}
		return
	}
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	first := startShared(t, Options{})
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Addr: "::1"}, "IPv4-only"},
		{Options{PortsPerAddr: 10}, "shared-port mode puts every device on one port"},
		{Options{Addr: "127.255.255.250", Devices: 10}, "past 127.255.255.254"},
		{Options{Addr: "255.255.255.250", Devices: 10}, "past the IPv4 range"},
		{Options{BasePort: busy.LocalAddr().(*net.UDPAddr).Port}, "address already in use"},
		{Options{BasePort: first.Devices()[0].Port}, "address already in use"}, // no joining another farm's group
	} {
		c.o.SharedPort, c.o.Logger = true, testLogger(t)
		f, err := Start(context.Background(), c.o)
		if err == nil {
			_ = f.Close()
			t.Errorf("%+v: started", c.o)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want %q", err, c.want)
		}
	}
}
