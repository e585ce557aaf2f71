package sim

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// testClock is an injectable clock a test steps by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: serves UDP and runs net-snmp/snmpsim (run without -short)")
	}
}

// startFarm starts a farm on free loopback ports and closes it in Cleanup.
func startFarm(t testing.TB, o Options) *Farm {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	f, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start farm: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close farm: %v", err)
		}
	})
	return f
}

// testLogger writes to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mustRecording parses a recording from text.
func mustRecording(t testing.TB, name, text string) *Recording {
	t.Helper()
	r, err := readRecording(bytes.NewReader([]byte(text)), name)
	if err != nil {
		t.Fatalf("recording %s: %v", name, err)
	}
	return r
}

// testDevice is a device serving rec outside any socket, for tests that call
// handle directly.
func testDevice(t testing.TB, rec *Recording, clock *testClock, users ...V3User) *Device {
	t.Helper()
	f := &Farm{community: []byte("public"), maxMsg: DefaultMaxMsgSize, now: clock.Now, started: clock.Now(), log: testLogger(t)}
	f.scratch.New = func() any { return new(scratch) }
	for _, u := range users {
		s, err := newV3Secret(u)
		if err != nil {
			t.Fatal(err)
		}
		f.users = append(f.users, s)
	}
	d := &Device{Name: "dev-0001", Template: rec.Name, farm: f, rec: rec, seed: mix(42), EngineID: engineID(0, mix(42))}
	d.life.Store(&life{epoch: f.started.UnixNano(), boots: 1})
	f.devices = []*Device{d}
	return d
}

// exchange encodes req with gosnmp, lets d handle it and decodes the answer
// (nil when d drops it).
func exchange(t testing.TB, d *Device, req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
	t.Helper()
	b, err := req.MarshalMsg()
	if err != nil {
		t.Fatalf("marshal request: %v", err)
	}
	s := new(scratch)
	hint := -1
	resp, _, _ := d.handle(s, b, &hint, d.farm.now().UnixNano())
	if resp == nil {
		return nil
	}
	dec := &gosnmp.GoSNMP{Version: req.Version, Logger: gosnmp.NewLogger(nil)}
	if req.Version == gosnmp.Version3 {
		dec.SecurityModel = gosnmp.UserSecurityModel
		dec.SecurityParameters = &gosnmp.UsmSecurityParameters{UserName: "decoder", AuthenticationProtocol: gosnmp.NoAuth, PrivacyProtocol: gosnmp.NoPriv}
	}
	pkt, err := dec.SnmpDecodePacket(append([]byte(nil), resp...))
	if err != nil {
		t.Fatalf("decode response: %v\n% x", err, resp)
	}
	return pkt
}

// v2req is a v2c request packet.
func v2req(typ gosnmp.PDUType, oids ...string) *gosnmp.SnmpPacket {
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: typ, RequestID: 4711}
	for _, o := range oids {
		p.Variables = append(p.Variables, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
	}
	return p
}
