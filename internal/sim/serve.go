package sim

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// readBufSize bounds a request: a 60-OID GET is about 1.3 kB. A larger
// datagram is dropped as malformed.
const readBufSize = 4096

// server runs the devices' sockets: epoll workers on Linux (no goroutine
// or buffer per device), a goroutine per socket elsewhere.
type server interface {
	listen(d *Device) error // bind d's socket at d.Host:d.Port, set d.Port
	start()                 // serve every bound socket
	stop()                  // stop serving and wait; sockets stay open
	send(d *Device, b []byte, to *peer)
	closeSockets() error
}

// peer is a request's source, in the form the server needs to answer it.
type peer struct {
	ap    netip.AddrPort // conn server
	sa    [28]byte       // epoll and shared servers: raw sockaddr (IPv4 or IPv6)
	saLen uint32
	// batch (shared server) collects the answers of the worker that read
	// the request, sent together; nil sends at once (delayed answers).
	batch *sendBatch
}

// deviceStats are one device's counters, written by whoever serves it.
type deviceStats struct {
	requests, varbinds                      atomic.Uint64
	lost, silent, community, malformed, usm atomic.Uint64
	reports                                 atomic.Uint64
}

// Stats are request counters of a device or a whole farm.
type Stats struct {
	Requests uint64 // datagrams received
	Varbinds uint64 // varbinds answered
	Lost     uint64 // dropped by the loss fault
	Silent   uint64 // dropped because the device is silent
	// BadCommunity, Malformed and USM count requests dropped for a wrong
	// community, for undecodable BER or PDUs an agent does not answer, and
	// for SNMPv3 messages that cannot be processed (wrong priv key...).
	BadCommunity, Malformed, USM uint64
	Reports                      uint64 // SNMPv3 reports sent (discovery, unknown user, wrong digest...)
	// Shared-port mode only, farm totals: datagrams to an address that is
	// no device's (dropped), and datagrams the kernel dropped because a
	// socket's receive queue was full (known when the socket next receives).
	NoDevice, QueueFull uint64
}

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	s := &d.stats
	return Stats{
		Requests: s.requests.Load(), Varbinds: s.varbinds.Load(), Lost: s.lost.Load(), Silent: s.silent.Load(),
		BadCommunity: s.community.Load(), Malformed: s.malformed.Load(), USM: s.usm.Load(), Reports: s.reports.Load(),
	}
}

// Stats sums every device's counters.
func (f *Farm) Stats() Stats {
	var t Stats
	for _, d := range f.devices {
		s := d.Stats()
		t.Requests += s.Requests
		t.Varbinds += s.Varbinds
		t.Lost += s.Lost
		t.Silent += s.Silent
		t.BadCommunity += s.BadCommunity
		t.Malformed += s.Malformed
		t.USM += s.USM
		t.Reports += s.Reports
	}
	t.NoDevice, t.QueueFull = f.noDevice.Load(), f.queueFull.Load()
	return t
}

// serveOne handles one received datagram for d: faults, decoding, the
// answer (now or delayed), counters. The caller owns s and rng. Two
// goroutines may serve one device at once (shared-port workers: the kernel
// spreads flows, not devices), hence the atomic walk hint: a stale hint
// costs a binary search, never a wrong answer.
func (f *Farm) serveOne(d *Device, s *scratch, rng *rand.Rand, req []byte, truncated bool, from *peer) {
	d.stats.requests.Add(1)
	if d.silent.Load() {
		d.stats.silent.Add(1)
		return
	}
	if p := d.lossPPM.Load(); p > 0 && rng.Uint32N(1e6) < p {
		d.stats.lost.Add(1)
		return
	}
	if h := d.hostile.Load(); h != nil && !d.admit(h) {
		d.stats.lost.Add(1)
		return
	}
	if truncated {
		d.stats.malformed.Add(1)
		return
	}
	old := d.hint.Load()
	hint := int(old)
	resp, nvb, why := d.handle(s, req, &hint, f.now().UnixNano())
	if int64(hint) != old {
		d.hint.Store(int64(hint))
	}
	switch why {
	case answered:
		if h := d.hostile.Load(); h != nil && h.DropAbove > 0 && len(resp) > h.DropAbove {
			d.stats.lost.Add(1)
			return
		}
		d.stats.varbinds.Add(uint64(nvb))
		if lat := d.latency.Load(); lat > 0 {
			f.delay(d, resp, from, time.Duration(lat))
		} else {
			f.srv.send(d, resp, from)
		}
	case dropMalformed:
		d.stats.malformed.Add(1)
	case dropCommunity:
		d.stats.community.Add(1)
	case dropUSM:
		d.stats.usm.Add(1)
	}
}

// handle answers one request datagram; resp points into s.
func (d *Device) handle(s *scratch, req []byte, hint *int, now int64) (resp []byte, varbinds int, why dropReason) {
	start, end, ok := ber.Expect(req, 0, ber.TagSequence)
	if !ok || end != len(req) {
		return nil, 0, dropMalformed
	}
	version, i, ok := ber.ReadInt(req, start)
	if !ok {
		return nil, 0, dropMalformed
	}
	switch version {
	case 0, 1:
		return d.serveCommunity(s, req, version, i, hint, now)
	case 3:
		return d.serveUSM(s, req, i, hint, now)
	}
	return nil, 0, dropMalformed
}

// delay sends a copy of resp after lat, unless the farm closes first.
func (f *Farm) delay(d *Device, resp []byte, to *peer, lat time.Duration) {
	b := append([]byte(nil), resp...)
	dst := *to
	dst.batch = nil // the worker's batch is not the timer's to touch
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.pending.Add(1)
	var t *time.Timer
	t = time.AfterFunc(lat, func() {
		defer f.pending.Done()
		f.mu.Lock()
		_, live := f.timers[t]
		delete(f.timers, t)
		f.mu.Unlock()
		if live {
			f.srv.send(d, b, &dst)
		}
	})
	f.timers[t] = struct{}{}
}

// stopTimers cancels delayed answers and waits for those already firing,
// so nothing writes to a socket after this returns.
func (f *Farm) stopTimers() {
	f.mu.Lock()
	f.closed = true
	for t := range f.timers {
		if t.Stop() {
			f.pending.Done()
		}
	}
	clear(f.timers)
	f.mu.Unlock()
	f.pending.Wait()
}
