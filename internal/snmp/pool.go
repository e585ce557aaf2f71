package snmp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
)

// Varbind is one SNMP variable binding as gosnmp decodes it: Name is the
// numeric OID with a leading dot, Type the ASN.1 type, Value a Go value
// (int, uint, uint64, []byte, string for OIDs and IP addresses, nil).
type Varbind = gosnmp.SnmpPDU

// PoolOptions configure a Pool. Zero values take the package defaults.
type PoolOptions struct {
	MaxRequestsPerDevice int           // DefaultMaxRequestsPerDevice when <= 0
	IdleTimeout          time.Duration // DefaultIdleTimeout when <= 0
	// MaxIdleSessions bounds idle sessions across all devices (the least
	// recently used are closed first), DefaultMaxIdleSessions when <= 0.
	// An idle v1/v2c session is a socket and a few hundred bytes, but gosnmp
	// gives every SNMPv3 session a 64 KiB receive buffer: at 10,000 devices
	// polled once a minute, one idle v3 session per device would cost
	// 640 MiB; polls reuse sessions within a check regardless.
	MaxIdleSessions int
	Logger          *slog.Logger // discarded when nil
	Registerer      prometheus.Registerer
	// ConnectedSockets gives every v1/v2c session a connected UDP socket of
	// its own instead of sharing one socket per address family (mux.go):
	// the transport before the shared socket, kept for comparison and for
	// systems where a shared socket's receive buffer cannot be raised.
	ConnectedSockets bool
}

// Pool keeps reusable sessions per device. A session serves one request at
// a time (gosnmp's, used for SNMPv3, are not safe for concurrent use); at most
// MaxRequestsPerDevice requests run concurrently against one device (host:port)
// and others wait, cancellable by their ctx. Idle sessions are closed after
// IdleTimeout. A Pool is safe for concurrent use.
type Pool struct {
	limit   int
	idleTTL time.Duration
	maxIdle int
	log     *slog.Logger
	m       *metrics

	mu      sync.Mutex
	devices map[string]*device // by Target.Addr()
	// narrow: devices whose column walks go a column a request until then
	// (they answered one column but not several; see walkColumns).
	narrow map[string]time.Time
	lru    idleList // idle sessions, least recently released first
	closed bool
	active int // requests holding a slot: the mux outlives them
	// retain: the credentials a session may have to be kept (Retain; all
	// before the first call), in its version retainGen.
	retain    []Credential
	retainGen uint64

	getM, walkM opMetrics

	stop chan struct{}
	done chan struct{}

	varbinds atomic.Uint64 // received, for the benchmark harness

	useGosnmp bool // v1/v2c through gosnmp too: the old path, for comparisons
	mx        *mux // the shared socket of v1/v2c sessions; nil: a socket each
}

// device is the per-address state: the limit semaphore and idle sessions.
type device struct {
	addr     string // its key in Pool.devices
	sem      chan struct{}
	idle     []*session // LIFO: the most recently used is reused first
	refs     int        // requests holding or waiting for this device
	inUse    int
	maxInUse int // high-water mark, for tests and debugging
}

// NewPool starts a pool and its idle-session janitor; Close stops both.
func NewPool(opts PoolOptions) *Pool {
	p := &Pool{
		limit:   opts.MaxRequestsPerDevice,
		idleTTL: opts.IdleTimeout,
		maxIdle: opts.MaxIdleSessions,
		log:     opts.Logger,
		m:       newMetrics(opts.Registerer),
		devices: make(map[string]*device),
		narrow:  make(map[string]time.Time),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if p.limit <= 0 {
		p.limit = DefaultMaxRequestsPerDevice
	}
	if p.maxIdle <= 0 {
		p.maxIdle = DefaultMaxIdleSessions
	}
	if p.idleTTL <= 0 {
		p.idleTTL = DefaultIdleTimeout
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if !opts.ConnectedSockets {
		p.mx = newMux(p.m, p.log)
	}
	go p.janitor()
	return p
}

// Get fetches oids (numeric, with or without a leading dot) from t, in chunks
// of at most MaxOIDsPerGet per PDU. Missing objects come back as varbinds of
// type NoSuchObject/NoSuchInstance (also for SNMPv1, whose noSuchName
// error-status is turned into such varbinds), in the order requested.
func (p *Pool) Get(ctx context.Context, t Target, oids []string) ([]Varbind, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	var vbs []Varbind
	err := p.do(ctx, t, operation{kind: "get", oids: oids}, func(s *session) (n int, err error) {
		vbs, err = s.get(ctx, oids)
		return len(vbs), err
	})
	if err != nil {
		return nil, err
	}
	return vbs, nil
}

// Walk returns every varbind under root, in agent order: GETBULK with
// t.MaxRepetitions for v2c and v3, GETNEXT for v1. It stops at the end of the
// subtree or endOfMibView and fails with ErrNotIncrease when the agent returns
// an OID that does not increase (an agent loop). When the subtree is empty
// but root itself is an instance, that instance is returned, as snmpwalk does.
func (p *Pool) Walk(ctx context.Context, t Target, root string) ([]Varbind, error) {
	return p.WalkSized(ctx, t, root, 0)
}

// WalkSized is Walk where the caller expects about size varbinds (what the
// last walk of root on t returned; 0: unknown): the result is allocated
// once for them instead of grown by doubling, which copies a large table
// several times and leaves its discarded copies to the GC.
func (p *Pool) WalkSized(ctx context.Context, t Target, root string, size int) ([]Varbind, error) {
	return p.WalkSizedInto(ctx, t, root, size, nil)
}

// WalkSizedInto is WalkSized with the result in buf's array when it has
// room for it: a caller done with an earlier result (its values read; the
// strings and byte slices they hold are not in buf) hands it back here
// instead of leaving it to the GC. buf's contents are overwritten.
func (p *Pool) WalkSizedInto(ctx context.Context, t Target, root string, size int, buf []Varbind) ([]Varbind, error) {
	var vbs []Varbind
	err := p.do(ctx, t, operation{kind: "walk", root: root}, func(s *session) (n int, err error) {
		vbs, err = s.walk(ctx, root, size, buf)
		return len(vbs), err
	})
	if err != nil {
		return nil, err
	}
	return vbs, nil
}

// WalkColumns walks roots, the columns of a table say, as one operation:
// the result of roots[i] is out[i], the same varbinds as
// WalkSizedInto(ctx, t, roots[i], size, out[i]) returns, but each GETBULK
// asks for the next rows of several columns, so that a table's counters
// take a few round trips instead of one or more per column (see
// session.walkColumns). out must have len(roots) entries; each is used as
// the buffer of its result and replaced by it. size is the varbinds
// expected per column (0: unknown). The walk holds one of the device's
// request slots throughout, as a walk does; on failure out's entries are
// undefined and the error names the first root.
func (p *Pool) WalkColumns(ctx context.Context, t Target, roots []string, size int, out [][]Varbind) error {
	return p.WalkColumnsIn(ctx, t, roots, size, out, nil)
}

// WalkColumnsIn is WalkColumns decoding the answers' names and numbers
// into a (nil: memory of the walk's own), which the caller reuses for its
// next walk: the results are valid until then (see Arena).
func (p *Pool) WalkColumnsIn(ctx context.Context, t Target, roots []string, size int, out [][]Varbind, a *Arena) error {
	if len(out) != len(roots) {
		return fmt.Errorf("WalkColumns: %d results for %d roots", len(out), len(roots))
	}
	if len(roots) == 0 {
		return nil
	}
	addr := t.Addr()
	return p.do(ctx, t, operation{kind: "walk", root: roots[0]}, func(s *session) (int, error) {
		// Read once the slot is held: a walk that waited behind one that
		// just fell back starts narrow.
		narrow := p.narrowed(addr)
		s.narrow = narrow
		n, err := s.walkColumns(ctx, roots, size, out, a)
		if s.narrow && !narrow {
			p.rememberNarrow(addr, t.CredentialName, len(roots))
		}
		s.narrow = false
		return n, err
	})
}

// narrowFor is how long a device that needed one column a request keeps
// it before a column walk tries several again (a path's MTU or firewall
// rarely changes; a transient loss should not cost its requests forever).
const narrowFor = time.Hour

// maxNarrow bounds the devices remembered: beyond it, a device falls back
// again at its next poll (one timeout) instead of growing the map.
const maxNarrow = 100_000

func (p *Pool) narrowed(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.narrow[addr]
	if ok && time.Now().After(until) {
		delete(p.narrow, addr)
		return false
	}
	return ok
}

// rememberNarrow records addr as narrow, counted and logged once however
// many of its walks fell back at the same time.
func (p *Pool) rememberNarrow(addr, credential string, columns int) {
	p.mu.Lock()
	_, known := p.narrow[addr]
	if !known && len(p.narrow) < maxNarrow {
		p.narrow[addr] = time.Now().Add(narrowFor)
	}
	p.mu.Unlock()
	if known {
		return
	}
	p.m.narrowed.Inc()
	p.log.Warn("snmp: the device answers a GETBULK of one column but not of several; walking its tables one column a request for the next hour. Likely its answers outgrow the path's MTU and a firewall or tunnel drops the IP fragments: allow fragments, or lower snmp.max_repetitions",
		"device", addr, "credential", credential, "columns", columns, "for", narrowFor)
}

// do runs fn on a pooled session of t within the per-device limit, and
// accounts for it. A session whose request failed is closed, not reused,
// unless it only timed out (see session.reusableAfter).
func (p *Pool) do(ctx context.Context, t Target, op operation, fn func(*session) (int, error)) (err error) {
	start := time.Now()
	var end time.Time // when fn returned
	var buf [64]byte
	key := appendAddr(buf[:0], t.Host, t.Port) // t.Addr() without allocating
	defer func() {
		if end.IsZero() {
			end = time.Now()
		}
		om := p.opMetrics(op.kind)
		om.requests(p.m, op.kind, err).Inc()
		om.observer(p.m, op.kind).Observe(end.Sub(start).Seconds())
		if err != nil {
			p.log.Debug("snmp request failed", "device", t.Addr(), "credential", t.CredentialName,
				"operation", op.String(), "status", KindOf(err).String(), "err", err)
		}
	}()
	if ctx.Err() != nil {
		return wrap(t.Addr(), op.String(), context.Cause(ctx))
	}
	d, err := p.acquire(ctx, key)
	if err != nil {
		return wrap(t.Addr(), op.String(), err)
	}
	s, err := p.session(ctx, d, t)
	if err != nil {
		p.release(d, nil, false, time.Time{})
		return wrap(d.addr, op.String(), err)
	}
	s.rt.watch(ctx)
	n, err := fn(s)
	end = time.Now()
	if !s.rt.unwatch() {
		s.broken = true
	}
	// An idle session must not keep the last response alive.
	s.req, s.root, s.dec = request{}, [1]string{}, decoder{}
	s.cols.reset()
	p.release(d, s, !s.broken && (err == nil || s.reusableAfter(err)), end)
	if err != nil {
		return wrap(d.addr, op.String(), err)
	}
	p.varbinds.Add(uint64(n))
	p.m.varbinds.Add(float64(n))
	return nil
}

// appendAddr appends host:port as net.JoinHostPort writes it.
func appendAddr(b []byte, host string, port int) []byte {
	if strings.IndexByte(host, ':') >= 0 {
		b = append(append(append(b, '['), host...), ']')
	} else {
		b = append(b, host...)
	}
	return strconv.AppendInt(append(b, ':'), int64(port), 10)
}

// opMetrics caches one operation kind's metric children, so that a request
// does not look its labels up. Each is created when first used, as
// WithLabelValues would: no series appears before its first observation.
type opMetrics struct {
	durOnce  sync.Once
	duration prometheus.Observer
	okOnce   sync.Once
	ok       prometheus.Counter
}

func (p *Pool) opMetrics(kind string) *opMetrics {
	if kind == "walk" {
		return &p.walkM
	}
	return &p.getM
}

func (om *opMetrics) requests(m *metrics, kind string, err error) prometheus.Counter {
	if err != nil {
		return m.requests.WithLabelValues(kind, KindOf(err).String())
	}
	om.okOnce.Do(func() { om.ok = m.requests.WithLabelValues(kind, KindOK.String()) })
	return om.ok
}

func (om *opMetrics) observer(m *metrics, kind string) prometheus.Observer {
	om.durOnce.Do(func() { om.duration = m.duration.WithLabelValues(kind) })
	return om.duration
}

// operation names a request for metrics (kind), errors and logs; its text
// is built only for those.
type operation struct {
	kind string // "get" or "walk"
	oids []string
	root string
}

func (o operation) String() string {
	if o.kind == "walk" {
		return "walk " + normOID(o.root)
	}
	return opGet(o.oids)
}

// Varbinds is how many varbinds the pool's requests received so far.
func (p *Pool) Varbinds() uint64 { return p.varbinds.Load() }

// acquire takes one of the device's request slots, waiting while the device
// is at its limit.
func (p *Pool) acquire(ctx context.Context, addr []byte) (*device, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrPoolClosed
	}
	d := p.devices[string(addr)]
	if d == nil {
		d = &device{addr: string(addr), sem: make(chan struct{}, p.limit)}
		p.devices[d.addr] = d
	}
	d.refs++
	p.mu.Unlock()

	select {
	case d.sem <- struct{}{}:
	default:
		p.m.limitWaits.Inc()
		start := time.Now()
		select {
		case d.sem <- struct{}{}:
			p.m.limitWaitSecs.Add(time.Since(start).Seconds())
		case <-ctx.Done():
			p.m.limitWaitSecs.Add(time.Since(start).Seconds())
			p.mu.Lock()
			d.refs--
			p.mu.Unlock()
			return nil, context.Cause(ctx)
		}
	}
	p.mu.Lock()
	d.inUse++
	d.maxInUse = max(d.maxInUse, d.inUse)
	p.active++
	p.mu.Unlock()
	p.m.inUse.Inc()
	return d, nil
}

// session returns an idle session for exactly this target (same credential,
// timeouts) or opens one.
func (p *Pool) session(ctx context.Context, d *device, t Target) (*session, error) {
	p.mu.Lock()
	for i := len(d.idle) - 1; i >= 0; i-- {
		if s := d.idle[i]; s.target.sameSession(t) {
			d.idle = append(d.idle[:i], d.idle[i+1:]...)
			p.lru.remove(s)
			p.mu.Unlock()
			return s, nil
		}
	}
	p.mu.Unlock()
	s, err := openSession(ctx, t, p.m, p.useGosnmp, p.mx)
	if err != nil {
		return nil, err
	}
	p.m.sessionsOpen.Inc()
	p.m.sessionsOpened.Inc()
	p.log.Debug("snmp session opened", "device", d.addr, "credential", t.CredentialName)
	return s, nil
}

// release returns the slot and keeps s for reuse when reusable, as used
// until now.
func (p *Pool) release(d *device, s *session, reusable bool, now time.Time) {
	p.mu.Lock()
	d.inUse--
	d.refs--
	p.active--
	lastAfterClose := p.closed && p.active == 0
	keep := s != nil && reusable && !p.closed && p.retainedLocked(s)
	var evicted []*session
	if keep {
		s.lastUsed = now
		s.dev = d
		d.idle = append(d.idle, s)
		p.lru.pushBack(s)
		for p.lru.n > p.maxIdle {
			evicted = append(evicted, p.evictOldestLocked())
		}
	}
	p.mu.Unlock()
	<-d.sem
	p.m.inUse.Dec()
	if s != nil && !keep {
		p.closeSession(s)
	}
	for _, old := range evicted {
		p.closeSession(old)
	}
	if lastAfterClose && p.mx != nil {
		p.mx.close()
	}
}

// evictOldestLocked takes the least recently released idle session out of
// the pool; the caller closes it outside the lock.
func (p *Pool) evictOldestLocked() *session {
	old := p.lru.head
	p.lru.remove(old)
	d := old.dev
	if i := slices.Index(d.idle, old); i >= 0 {
		d.idle = slices.Delete(d.idle, i, i+1)
	}
	if len(d.idle) == 0 && d.refs == 0 {
		delete(p.devices, d.addr)
	}
	return old
}

func (p *Pool) closeSession(s *session) {
	s.close()
	p.m.sessionsOpen.Dec()
}

// janitor closes sessions idle for longer than the idle timeout and forgets
// devices with no sessions and no requests.
func (p *Pool) janitor() {
	defer close(p.done)
	tick := time.NewTicker(max(p.idleTTL/4, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-tick.C:
			p.expire(now)
		}
	}
}

func (p *Pool) expire(now time.Time) {
	p.mu.Lock()
	stale := p.dropIdleLocked(func(s *session) bool { return now.Sub(s.lastUsed) >= p.idleTTL })
	p.mu.Unlock()
	for _, s := range stale {
		p.closeSession(s)
	}
}

// Retain keeps only the sessions whose credential equals one of creds
// (by contents, as sessions are matched): it closes the others that are
// idle, and a session in use, or opened later for a target resolved
// before, is closed when its request ends instead of kept. A reload calls
// it with the new credentials, so that a rotated community or v3 key (and
// the sessions holding it) does not outlive the reload by the idle
// timeout.
func (p *Pool) Retain(creds []*Credential) {
	keep := make([]Credential, 0, len(creds))
	for _, c := range creds {
		if c != nil {
			keep = append(keep, *c)
		}
	}
	p.mu.Lock()
	p.retain, p.retainGen = keep, p.retainGen+1
	stale := p.dropIdleLocked(func(s *session) bool { return !p.retainedLocked(s) })
	p.mu.Unlock()
	for _, s := range stale {
		p.closeSession(s)
	}
	if len(stale) > 0 { // never a secret: how many, not which
		p.log.Info("snmp: closed the idle sessions of credentials no longer configured", "sessions", len(stale))
	}
}

// retainedLocked reports whether s's credential is one Retain keeps; a
// session is checked once per Retain, not on every release.
func (p *Pool) retainedLocked(s *session) bool {
	if s.retainGen == p.retainGen {
		return true
	}
	c := s.target.Credential
	if c == nil || !slices.Contains(p.retain, *c) {
		return false
	}
	s.retainGen = p.retainGen
	return true
}

// dropIdleLocked takes the idle sessions stale reports out of the pool,
// forgetting devices left with no sessions and no requests; the caller
// closes them outside the lock.
func (p *Pool) dropIdleLocked(stale func(*session) bool) []*session {
	var out []*session
	for addr, d := range p.devices {
		keep := d.idle[:0]
		for _, s := range d.idle {
			if stale(s) {
				p.lru.remove(s)
				out = append(out, s)
			} else {
				keep = append(keep, s)
			}
		}
		clear(d.idle[len(keep):])
		d.idle = keep
		if len(d.idle) == 0 && d.refs == 0 {
			delete(p.devices, addr)
		}
	}
	return out
}

// Close closes idle sessions and stops the janitor. Requests in flight finish
// and close their sessions; new requests fail with ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	closeMux := p.active == 0
	var idle []*session
	for _, d := range p.devices {
		idle = append(idle, d.idle...)
		d.idle = nil
	}
	p.lru = idleList{}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, s := range idle {
		p.closeSession(s)
	}
	if closeMux && p.mx != nil {
		p.mx.close() // else the last request in flight closes it
	}
	return nil
}

// maxInUse is the high-water mark of concurrent requests on addr.
func (p *Pool) maxInUse(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.devices[addr]; d != nil {
		return d.maxInUse
	}
	return 0
}

// inUse is the number of requests currently holding a slot on addr.
func (p *Pool) inUse(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.devices[addr]; d != nil {
		return d.inUse
	}
	return 0
}

// idleList is the pool's LRU of idle sessions, linked through the sessions
// themselves: keeping a session idle allocates nothing.
type idleList struct {
	head, tail *session // head: least recently released
	n          int
}

func (l *idleList) pushBack(s *session) {
	s.lruPrev, s.lruNext = l.tail, nil
	if l.tail != nil {
		l.tail.lruNext = s
	} else {
		l.head = s
	}
	l.tail = s
	l.n++
}

func (l *idleList) remove(s *session) {
	if s.lruPrev != nil {
		s.lruPrev.lruNext = s.lruNext
	} else {
		l.head = s.lruNext
	}
	if s.lruNext != nil {
		s.lruNext.lruPrev = s.lruPrev
	} else {
		l.tail = s.lruPrev
	}
	s.lruPrev, s.lruNext = nil, nil
	l.n--
}
