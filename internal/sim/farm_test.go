package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
)

// TestThousandDevices: one process serves 1,000 devices, each answering on
// its own port with its own name.
func TestThousandDevices(t *testing.T) {
	integration(t)
	start := time.Now()
	f := startFarm(t, Options{Devices: 1000, Templates: []string{"switch48", "router400"}, Logger: nil})
	t.Logf("1000 devices started in %v", time.Since(start))
	var wg sync.WaitGroup
	errs := make(chan error, len(f.Devices()))
	sem := make(chan struct{}, 64)
	for _, d := range f.Devices() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g := &gosnmp.GoSNMP{Target: d.Host, Port: uint16(d.Port), Community: "public", Version: gosnmp.Version2c,
				Timeout: 2 * time.Second, Retries: 1, Transport: "udp"}
			if err := g.Connect(); err != nil {
				errs <- err
				return
			}
			defer g.Close()
			p, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.2.1.0"})
			if err != nil {
				errs <- err
				return
			}
			wantIf := 55
			if d.Index%2 == 1 {
				wantIf = 400
			}
			if name := string(p.Variables[0].Value.([]byte)); name != d.Name || p.Variables[1].Value != wantIf {
				errs <- errors.New(d.Addr + ": sysName " + name + ", ifNumber " + strconv.Itoa(p.Variables[1].Value.(int)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := f.Stats(); s.Requests < 1000 || s.Varbinds < 2000 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("1000 devices answered in %v", time.Since(start))
}

// TestFaults: loss, silence and latency make a device time out; clearing
// the fault restores it.
func TestFaults(t *testing.T) {
	integration(t)
	f := startFarm(t, Options{Devices: 1})
	d := f.Devices()[0]
	get := func(timeout time.Duration) (time.Duration, error) {
		g := dial(t, d, timeout)
		start := time.Now()
		_, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"})
		return time.Since(start), err
	}
	if _, err := get(time.Second); err != nil {
		t.Fatalf("healthy device: %v", err)
	}
	d.SetFault(0, 1, false)
	if _, err := get(150 * time.Millisecond); err == nil {
		t.Error("loss 1: answered")
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
	for i := 0; i < 60; i++ {
		if _, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"}); err == nil {
			ok++
		}
	}
	if ok < 15 || ok > 45 {
		t.Errorf("loss 0.5: %d of 60 answered", ok)
	}
	d.SetFault(0, 0, false)
	if _, err := get(time.Second); err != nil {
		t.Errorf("fault cleared: %v", err)
	}
	s := d.Stats()
	if s.Lost < 15 || s.Silent != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestCloseCancelsDelayedAnswers: Close does not wait for a long latency.
func TestCloseCancelsDelayedAnswers(t *testing.T) {
	integration(t)
	f, err := Start(context.Background(), Options{Latency: time.Hour, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	g := dial(t, f.Devices()[0], 50*time.Millisecond)
	_, _ = g.Get([]string{".1.3.6.1.2.1.1.3.0"})
	done := make(chan error)
	go func() { done <- f.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a delayed answer")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestContextStopsFarm: cancelling Start's ctx closes the sockets.
func TestContextStopsFarm(t *testing.T) {
	integration(t)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Start(ctx, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	addr := f.Devices()[0].Addr
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.ListenPacket("udp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still bound after cancel: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = f.Close()
}

// TestLayout: base port + i, then the next loopback address.
func TestLayout(t *testing.T) {
	integration(t)
	var f *Farm
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		base := 20000 + (os.Getpid()*7+attempt*977)%30000
		f, err = Start(context.Background(), Options{Devices: 25, BasePort: base, PortsPerAddr: 10, Logger: testLogger(t)})
		if err == nil {
			t.Cleanup(func() { _ = f.Close() })
			for i, d := range f.Devices() {
				wantHost := "127.0.0." + strconv.Itoa(1+i/10)
				if d.Host != wantHost || d.Port != base+i%10 || d.Addr != net.JoinHostPort(wantHost, strconv.Itoa(base+i%10)) {
					t.Errorf("device %d at %s, want %s:%d", i, d.Addr, wantHost, base+i%10)
				}
			}
			if _, err := dial(t, f.Devices()[24], time.Second).Get([]string{".1.3.6.1.2.1.1.5.0"}); err != nil {
				t.Errorf("device on 127.0.0.3: %v", err)
			}
			return
		}
		t.Logf("base %d: %v", base, err)
	}
	t.Fatal(err)
}

func TestStartErrors(t *testing.T) {
	integration(t)
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.LocalAddr().(*net.UDPAddr).Port
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Devices: -1}, "devices -1"},
		{Options{Templates: []string{"nope"}}, `device 0: template "nope"`},
		{Options{BasePort: port}, "address already in use"},
		{Options{BasePort: 65530, Devices: 10, PortsPerAddr: 10}, "past 65535"},
		{Options{Loss: 2}, "loss 2"},
		{Options{Addr: "localhost"}, `address "localhost"`},
		{Options{V3Users: []V3User{{Name: "u", AuthProto: "SHA", AuthPass: "short"}}}, "at least 8 characters"},
		{Options{V3Users: []V3User{{Name: "u", AuthProto: "MD4", AuthPass: "long enough"}}}, `unknown auth protocol "MD4"`},
		{Options{V3Users: []V3User{{Name: "u", PrivProto: "AES", PrivPass: "long enough"}}}, "privacy needs authentication"},
		{Options{MaxMsgSize: 100}, "max message size"},
	} {
		c.o.Logger = testLogger(t)
		f, err := Start(context.Background(), c.o)
		if err == nil {
			_ = f.Close()
			t.Errorf("%+v: started", c.o)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want %q", err, c.want)
		}
		if strings.Contains(err.Error(), "long enough") {
			t.Errorf("error shows a passphrase: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

func TestInventoryAndMetrics(t *testing.T) {
	integration(t)
	reg := prometheus.NewRegistry()
	f := startFarm(t, Options{Devices: 3, Templates: []string{"switch48", "router400"}, Registerer: reg})
	var b bytes.Buffer
	if err := f.WriteInventory(&b, "sim_v2c"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "endpoint", "subclass", "type", "snmp_credential", "model"},
		{"switch48-0001", f.Devices()[0].Addr, "switch", "cisco", "sim_v2c", "WS-C2960X-48TS-L"},
		{"router400-0002", f.Devices()[1].Addr, "router", "juniper", "sim_v2c", "MX960"},
		{"switch48-0003", f.Devices()[2].Addr, "switch", "cisco", "sim_v2c", "WS-C2960X-48TS-L"},
	}
	for i := range want {
		if i >= len(rows) || strings.Join(rows[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("inventory row %d: %v, want %v", i, rows, want[i])
			break
		}
	}
	g := dial(t, f.Devices()[1], time.Second)
	if _, err := g.BulkWalkAll(".1.3.6.1.2.1.31.1.1.1.1"); err != nil {
		t.Fatal(err)
	}
	d := f.Devices()[1]
	bad := &gosnmp.GoSNMP{Target: d.Host, Port: uint16(d.Port), Community: "wrong", Version: gosnmp.Version2c,
		Timeout: 50 * time.Millisecond, Transport: "udp"}
	_ = bad.Connect()
	_, _ = bad.Get([]string{".1.3.6.1.2.1.1.5.0"})
	_ = bad.Close()
	if v := promtest.ToFloat64(prometheusCounter(t, reg, "panoptes_sim_varbinds_total", "")); v < 400 {
		t.Errorf("varbinds_total %v, want ≥ 400", v)
	}
	if v := promtest.ToFloat64(prometheusCounter(t, reg, "panoptes_sim_dropped_total", "community")); v != 1 {
		t.Errorf("dropped{community} %v, want 1", v)
	}
}

// prometheusCounter finds a registered metric by name (and reason label).
func prometheusCounter(t *testing.T, reg *prometheus.Registry, name, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if match {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	t.Fatalf("metric %s{reason=%q} not registered", name, reason)
	return nil
}

// TestPortableServer runs the goroutine-per-socket server (the one used
// where epoll is missing) through walks, faults and Close.
func TestPortableServer(t *testing.T) {
	integration(t)
	if !epollSupported {
		t.Skip("the portable server is the default here: every other test covers it")
	}
	useEpoll = false
	defer func() { useEpoll = epollSupported }()
	f, err := Start(context.Background(), Options{Devices: 3, Templates: []string{"router400"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.srv.(*connServer); !ok {
		t.Fatalf("server %T", f.srv)
	}
	for _, d := range f.Devices() {
		vbs, err := dial(t, d, time.Second).BulkWalkAll(".1.3.6.1.2.1.31.1.1.1.1")
		if err != nil || len(vbs) != 400 {
			t.Errorf("%s: %d ifNames, %v", d.Name, len(vbs), err)
		}
	}
	d := f.Devices()[0]
	d.SetFault(0, 0, true)
	if _, err := dial(t, d, 100*time.Millisecond).Get([]string{".1.3.6.1.2.1.1.3.0"}); err == nil {
		t.Error("silent device answered")
	}
	d.SetFault(time.Hour, 0, false)
	_, _ = dial(t, d, 50*time.Millisecond).Get([]string{".1.3.6.1.2.1.1.3.0"})
	start := time.Now()
	if err := f.Close(); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("close: %v after %v", err, time.Since(start))
	}
}
