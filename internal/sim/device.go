package sim

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Device is one simulated agent: a recording served on its own address,
// with its own seed (hence counter rates), uptime, SNMPv3 engine and faults.
// Its exported fields are fixed at Start; its methods are safe for
// concurrent use.
type Device struct {
	Index    int    // position in the farm, from 0
	Name     string // e.g. "switch48-0007"; the sysName of built-in templates
	Template string // the recording's name
	Host     string // IP address
	Port     int
	Addr     string // Host:Port
	EngineID []byte // SNMPv3 authoritative engine ID

	farm *Farm
	rec  *Recording
	seed uint64
	hint atomic.Int64 // last entry a walk was given: its next request asks for the successor

	life    atomic.Pointer[life]
	over    atomic.Pointer[Recording] // objects of this device alone (overlay.go); nil: none
	latency atomic.Int64              // ns
	lossPPM atomic.Uint32             // drop probability × 1e6
	silent  atomic.Bool

	hostile  atomic.Pointer[Hostile] // nil: a well-behaved agent
	hostileN atomic.Uint64           // requests counted by Hostile.AnswerEvery

	stats deviceStats

	keysMu sync.Mutex
	keys   atomic.Pointer[[]*localKeys] // per V3 user, localized to EngineID
}

// life is the state a restart replaces as a whole, read once per request.
type life struct {
	epoch     int64 // ns since the Unix epoch: start or last restart
	restarted bool  // counters count from 0 since epoch, not from the recording
	boots     uint32
}

// Restart simulates an agent reboot now: sysUpTime and every counter start
// again from 0, and the SNMPv3 engine boots counter increases (so a v3
// manager must resynchronise its engine time).
func (d *Device) Restart() {
	l := d.life.Load()
	d.life.Store(&life{epoch: d.farm.now().UnixNano(), restarted: true, boots: l.boots + 1})
}

// SetFault sets the device's failure behaviour: every answer is delayed by
// latency, a request is dropped with probability loss (0-1), and a silent
// device never answers. Zero values restore normal service.
func (d *Device) SetFault(latency time.Duration, loss float64, silent bool) {
	d.latency.Store(int64(max(latency, 0)))
	d.lossPPM.Store(uint32(math.Round(min(max(loss, 0), 1) * 1e6)))
	d.silent.Store(silent)
}

// Rate is the per-second increase of the counter oid (numeric, with or
// without a leading dot) on this device; ok is false when oid is not a
// Counter32/Counter64 of the device's recording. It is derived from the
// farm's seed, the device's index and the counter: the same in every run.
func (d *Device) Rate(oid string) (perSecond uint64, ok bool) {
	e, err := d.lookup(oid)
	if err != nil || (e.tag != ber.TagCounter32 && e.tag != ber.TagCounter64) {
		return 0, false
	}
	return rate(e.class, d.seed, e.rateKey), true
}

// CounterAt is the value the device answers for the counter oid at time t:
// base + Rate × (t − epoch) in whole units, where base is the recorded
// value (0 after a Restart) and epoch the farm's start or the last Restart,
// modulo 2^32 for a Counter32 and 2^64 for a Counter64.
func (d *Device) CounterAt(oid string, t time.Time) (uint64, bool) {
	e, err := d.lookup(oid)
	if err != nil || (e.tag != ber.TagCounter32 && e.tag != ber.TagCounter64) {
		return 0, false
	}
	l := d.life.Load()
	return d.counter(e, l, t.UnixNano()-l.epoch), true
}

// Uptime is the device's sysUpTime at t, in hundredths of a second.
func (d *Device) Uptime(t time.Time) uint32 {
	l := d.life.Load()
	var base uint64
	if !l.restarted {
		if i := d.rec.exact(oidSysUpTime); i >= 0 {
			base = d.rec.entries[i].base
		}
	}
	return uint32(base + uint64(max(t.UnixNano()-l.epoch, 0))/1e7)
}

func (d *Device) lookup(oid string) (*entry, error) {
	arcs, err := ber.ParseOID(oid)
	if err != nil {
		return nil, err
	}
	i := d.rec.exact(arcs)
	if i < 0 {
		return nil, fmt.Errorf("%s: no such object in %s", oid, d.rec.Name)
	}
	return &d.rec.entries[i], nil
}

// counter is e's value elapsedNs after the epoch of l.
func (d *Device) counter(e *entry, l *life, elapsedNs int64) uint64 {
	base := e.base
	if l.restarted {
		base = 0
	}
	v := advance(base, rate(e.class, d.seed, e.rateKey), elapsedNs)
	if e.tag == ber.TagCounter32 {
		v = uint64(uint32(v))
	}
	return v
}

// engineTime is the SNMPv3 snmpEngineTime at now (seconds since epoch).
func (l *life) engineTime(now int64) uint32 {
	return uint32(min(max(now-l.epoch, 0)/1e9, math.MaxInt32))
}
