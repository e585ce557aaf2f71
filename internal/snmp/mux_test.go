package snmp

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Many devices through the shared socket at once: every answer reaches the
// request it answers (each device's own sysName), and the pool opens one
// socket, not one per device.
func TestMuxManyDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated devices")
	}
	const devices, rounds = 200, 5
	farm := startSim(t, devices)
	fdsBefore := openFDs(t)
	p, _, _ := testPool(t, 2)
	var wg sync.WaitGroup
	for range rounds {
		for _, d := range farm.Devices() {
			wg.Go(func() {
				vbs, err := p.Get(context.Background(), simTarget(d), []string{oidSysName})
				switch {
				case err != nil:
					t.Errorf("device %s:%d: %v", d.Host, d.Port, err)
				case len(vbs) != 1 || string(vbs[0].Value.([]byte)) != d.Name:
					t.Errorf("device %s:%d answered %v, want its sysName %q", d.Host, d.Port, vbs, d.Name)
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if grew := openFDs(t) - fdsBefore; grew > 10 {
		t.Fatalf("%d file descriptors opened for %d devices; want the one shared socket (and its poller)", grew, devices)
	}
	if p.mx == nil || p.mx.socks[0] == nil {
		t.Fatal("the IPv4 shared socket was not used")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// A datagram is handed only to the request it answers: same request id,
// from the address the request went to, with its version and community.
func TestMuxDeliverMatchesRequest(t *testing.T) {
	mx := newMux(newMetrics(nil), slog.New(slog.DiscardHandler))
	dst := netip.MustParseAddrPort("127.0.0.2:1161")
	w := &waiter{id: 77, dst: dst, version: 1, community: []byte("public"), ch: make(chan struct{}, 1)}
	mx.pending[w.id] = w
	answer := func(id int32, version int64, community string) []byte {
		msg, _, err := encodeRequest(nil, version, []byte(community), id, &request{pdu: ber.PDUGet, oids: []string{oidSysName}})
		if err != nil {
			t.Fatal(err)
		}
		out := append([]byte(nil), msg...)
		i := indexPDU(t, out)
		out[i] = 0xA2 // a Response PDU
		return out
	}
	for _, c := range []struct {
		name string
		pkt  []byte
		src  netip.AddrPort
	}{
		{"another source address", answer(77, 1, "public"), netip.MustParseAddrPort("127.0.0.3:1161")},
		{"another source port", answer(77, 1, "public"), netip.MustParseAddrPort("127.0.0.2:1162")},
		{"another request id", answer(78, 1, "public"), dst},
		{"another community", answer(77, 1, "private"), dst},
		{"another version", answer(77, 0, "public"), dst},
		{"not a PDU", []byte{0x30, 0x00}, dst},
	} {
		if mx.deliver(c.pkt, c.src) {
			t.Fatalf("%s: delivered", c.name)
		}
	}
	if !mx.deliver(answer(77, 1, "public"), dst) {
		t.Fatal("the answer was not delivered")
	}
	select {
	case <-w.ch:
	case <-time.After(time.Second):
		t.Fatal("the waiter was not woken")
	}
	if w.pkt == nil || w.err != nil || len(mx.pending) != 0 {
		t.Fatalf("after delivery: pkt %v, err %v, pending %d", w.pkt != nil, w.err, len(mx.pending))
	}
	if mx.deliver(answer(77, 1, "public"), dst) {
		t.Fatal("a duplicate answer was delivered again")
	}
}

// indexPDU finds the PDU tag of an encoded message (after version and
// community).
func indexPDU(t *testing.T, msg []byte) int {
	t.Helper()
	s, _, ok := ber.Expect(msg, 0, ber.TagSequence)
	if !ok {
		t.Fatal("not a message")
	}
	_, i, ok := ber.ReadInt(msg, s)
	if !ok {
		t.Fatal("no version")
	}
	_, e, ok := ber.Expect(msg, i, ber.TagOctetString)
	if !ok {
		t.Fatal("no community")
	}
	if msg[e] != ber.PDUGet {
		t.Fatalf("PDU tag %#x", msg[e])
	}
	return e
}

// Closing the pool with a request in flight lets it finish on the shared
// socket; the socket closes after it.
func TestMuxOutlivesCloseForRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs simulated devices")
	}
	farm := startSim(t, 1)
	d := farm.Devices()[0]
	d.SetFault(200*time.Millisecond, 0, false)
	p, _, _ := testPool(t, 1)
	done := make(chan error, 1)
	go func() {
		_, err := p.Get(context.Background(), simTarget(d), []string{oidSysName})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("request in flight at Close: %v", err)
	}
	p.mx.mu.Lock()
	closed := p.mx.closed
	p.mx.mu.Unlock()
	if !closed {
		t.Fatal("the shared socket is still open after the last request")
	}
	if _, err := p.Get(context.Background(), simTarget(d), []string{oidSysName}); err == nil {
		t.Fatal("a request after Close succeeded")
	}
}

// An answer waits for its request in a buffer of its size class, which
// takes it back.
func TestAnswerBufClasses(t *testing.T) {
	for _, c := range []struct{ n, size int }{{1, 2 << 10}, {2 << 10, 2 << 10}, {2<<10 + 1, 8 << 10}, {1500 * 4, 8 << 10}, {8<<10 + 1, maxDatagram}, {maxDatagram, maxDatagram}} {
		bp := getAnswerBuf(c.n)
		if len(*bp) != c.size || cap(*bp) != c.size {
			t.Errorf("answer of %d bytes: buffer of %d (cap %d), want %d", c.n, len(*bp), cap(*bp), c.size)
		}
		putAnswerBuf(bp)
	}
}
