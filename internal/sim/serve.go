package sim

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// readBufSize bounds a request: a 60-OID GET is about 1.3 kB. A larger
// datagram is truncated by the kernel and dropped as malformed.
const readBufSize = 4096

// deviceStats are one device's counters, written by its serving goroutine.
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
	// community, undecodable BER or PDUs an agent does not answer, and
	// SNMPv3 messages that cannot be processed (wrong priv key...).
	BadCommunity, Malformed, USM uint64
	Reports                      uint64 // SNMPv3 reports sent (discovery, unknown user, wrong digest...)
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
	return t
}

// serve is a device's loop: one goroutine, one reused read buffer.
func (f *Farm) serve(d *Device) {
	defer f.wg.Done()
	buf := make([]byte, readBufSize)
	hint := -1
	rng := rand.New(rand.NewPCG(d.seed, 0x1055))
	for {
		n, from, err := d.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-f.stop:
				return
			default:
			}
			f.log.Debug("read failed", "device", d.Name, "err", err)
			time.Sleep(time.Millisecond) // e.g. ICMP errors surfacing on Read: don't spin
			continue
		}
		d.stats.requests.Add(1)
		if d.silent.Load() {
			d.stats.silent.Add(1)
			continue
		}
		if p := d.lossPPM.Load(); p > 0 && rng.Uint32N(1e6) < p {
			d.stats.lost.Add(1)
			continue
		}
		if n == len(buf) {
			d.stats.malformed.Add(1) // truncated
			continue
		}
		s := f.scratch.Get().(*scratch)
		resp, nvb, why := d.handle(s, buf[:n], &hint, f.now().UnixNano())
		switch why {
		case answered:
			d.stats.varbinds.Add(uint64(nvb))
			if lat := d.latency.Load(); lat > 0 {
				f.delay(d, resp, from, time.Duration(lat))
			} else if _, err := d.conn.WriteToUDPAddrPort(resp, from); err != nil && !errors.Is(err, net.ErrClosed) {
				f.log.Debug("write failed", "device", d.Name, "to", from, "err", err)
			}
		case dropMalformed:
			d.stats.malformed.Add(1)
		case dropCommunity:
			d.stats.community.Add(1)
		case dropUSM:
			d.stats.usm.Add(1)
		}
		f.scratch.Put(s)
	}
}

// handle answers one request datagram; resp points into s.
func (d *Device) handle(s *scratch, req []byte, hint *int, now int64) (resp []byte, varbinds int, why dropReason) {
	start, end, ok := expect(req, 0, tagSequence)
	if !ok || end != len(req) {
		return nil, 0, dropMalformed
	}
	version, i, ok := readInt(req, start)
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
func (f *Farm) delay(d *Device, resp []byte, to netip.AddrPort, lat time.Duration) {
	b := append([]byte(nil), resp...)
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
		delete(f.timers, t)
		f.mu.Unlock()
		_, _ = d.conn.WriteToUDPAddrPort(b, to)
	})
	f.timers[t] = struct{}{}
}
