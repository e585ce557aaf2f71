package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for zero Options fields.
const (
	DefaultAddr = "127.0.0.1"
	// DefaultSharedAddr is device 0's address in shared-port mode: off
	// 127.0.0.1, so the farm's addresses (127.1.0.1, 127.1.0.2, ...) are
	// told apart from local services and from per-port farms.
	DefaultSharedAddr = "127.1.0.1"
	DefaultCommunity  = "public"
	DefaultTemplate   = "switch48"
	DefaultMaxMsgSize = 65507 // the largest UDP payload over IPv4
)

// Options configure a farm. Zero values take the defaults.
type Options struct {
	Devices int // number of devices, default 1
	// BasePort is device 0's UDP port; device i listens on BasePort+i.
	// 0 gives every device a free port chosen by the kernel (tests).
	BasePort int
	// Addr is the first IP address (default 127.0.0.1). When a farm needs
	// more ports than BasePort..65535 holds, or PortsPerAddr is set, the
	// next devices use the next addresses (127.0.0.2, ...: every 127/8
	// address is local on Linux).
	Addr         string
	PortsPerAddr int
	// SharedPort puts every device on the same UDP port (BasePort; 0: one
	// free port chosen by the kernel) at an address of its own: device i at
	// Addr+i, Addr defaulting to DefaultSharedAddr. Each address must be
	// local (every 127/8 one is on Linux). A few sockets then serve every
	// device with batched system calls (recvmmsg/sendmmsg), about 3× less
	// CPU per request than a socket per device under load; answers may
	// wait up to 2 ms to be batched. Linux and IPv4 only; PortsPerAddr
	// does not apply.
	SharedPort bool
	// Templates are assigned round-robin: built-in names (see Builtins),
	// recording files, or names of snmpsim's example recordings. Default
	// switch48. TemplateFor, when set, chooses instead.
	Templates   []string
	TemplateFor func(device int) string
	Community   string   // v1/v2c community, default "public"
	V3Users     []V3User // SNMPv3 users every device accepts
	// Seed derives every device's counter rates: the same seed gives the
	// same rates in every run.
	Seed int64
	// Topology cables the devices into one simulated network (LLDP, CDP
	// and BGP tables; see topology.go), changed at run time with
	// SetInterface and SetBGPSession, read back with Network.
	Topology bool
	Latency  time.Duration // initial fault settings of every device
	Loss     float64
	// MaxMsgSize bounds a response (GETBULK returns fewer repetitions to
	// fit), default 65507; an SNMPv3 request's msgMaxSize lowers it.
	MaxMsgSize int
	// Now is the clock (default time.Now): counters and sysUpTime advance
	// with it, so a test can step time exactly.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no self-metrics
}

// Farm is a running set of simulated devices.
type Farm struct {
	devices   []*Device
	community []byte
	users     []*v3Secret
	usm       usmCounters
	maxMsg    int
	now       func() time.Time
	started   time.Time
	log       *slog.Logger
	scratch   sync.Pool
	srv       server
	shared    bool
	net       *network // Options.Topology; nil without

	// shared-port mode: datagrams to no device's address, and datagrams
	// the kernel dropped on full receive queues
	noDevice, queueFull atomic.Uint64

	pending     sync.WaitGroup // delayed answers
	mu          sync.Mutex
	timers      map[*time.Timer]struct{}
	closed      bool
	closeOnce   sync.Once
	closeErr    error
	stop        chan struct{} // closed by shutdown
	watcherDone chan struct{} // the ctx watcher has returned
}

// Start binds every device's socket and serves until ctx ends or Close is
// called. On any error nothing is left running.
func Start(ctx context.Context, opts Options) (*Farm, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	f := &Farm{
		community: []byte(opts.Community), maxMsg: opts.MaxMsgSize, now: opts.Now,
		log: opts.Logger, timers: map[*time.Timer]struct{}{}, stop: make(chan struct{}), watcherDone: make(chan struct{}),
		shared: opts.SharedPort,
	}
	f.scratch.New = func() any { return new(scratch) }
	f.started = f.now()
	for _, u := range opts.V3Users {
		sec, err := newV3Secret(u)
		if err != nil {
			return nil, err
		}
		f.users = append(f.users, sec)
	}
	if err := f.makeDevices(opts); err != nil {
		return nil, err
	}
	if opts.Topology {
		f.net = newNetwork(f.devices, f.started)
		for _, nd := range f.net.devs {
			f.net.rebuild(nd, f.started)
		}
	}
	if err := f.listen(); err != nil {
		close(f.watcherDone)
		_ = f.Close()
		return nil, err
	}
	f.srv.start()
	registerMetrics(opts.Registerer, f)
	go func() {
		defer close(f.watcherDone)
		select {
		case <-ctx.Done():
			f.closeOnce.Do(f.shutdown)
		case <-f.stop:
		}
	}()
	return f, nil
}

func withDefaults(o Options) (Options, error) {
	if o.Devices == 0 {
		o.Devices = 1
	}
	if o.Devices < 0 {
		return o, fmt.Errorf("devices %d: want 1 or more", o.Devices)
	}
	if o.BasePort < 0 || o.BasePort > 65535 {
		return o, fmt.Errorf("base port %d: want 1-65535 (or 0 for free ports)", o.BasePort)
	}
	if o.PortsPerAddr < 0 {
		return o, fmt.Errorf("ports per address %d: want 0 or more", o.PortsPerAddr)
	}
	if o.SharedPort && o.PortsPerAddr > 0 {
		return o, fmt.Errorf("ports per address %d: shared-port mode puts every device on one port (leave it 0)", o.PortsPerAddr)
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
		if o.SharedPort {
			o.Addr = DefaultSharedAddr
		}
	}
	if len(o.Templates) == 0 && o.TemplateFor == nil {
		o.Templates = []string{DefaultTemplate}
	}
	if o.Community == "" {
		o.Community = DefaultCommunity
	}
	if o.Loss < 0 || o.Loss > 1 {
		return o, fmt.Errorf("loss %v: want a probability 0-1", o.Loss)
	}
	if o.Latency < 0 {
		return o, fmt.Errorf("latency %v: want 0 or more", o.Latency)
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = DefaultMaxMsgSize
	}
	if o.MaxMsgSize < 484 || o.MaxMsgSize > DefaultMaxMsgSize {
		return o, fmt.Errorf("max message size %d: want 484-%d", o.MaxMsgSize, DefaultMaxMsgSize)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// makeDevices resolves templates (each loaded once) and lays out addresses.
func (f *Farm) makeDevices(o Options) error {
	first, err := netip.ParseAddr(o.Addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", o.Addr, err)
	}
	if o.SharedPort {
		if err := checkSharedLayout(first, o.Devices); err != nil {
			return err
		}
	}
	perAddr := o.PortsPerAddr
	if o.BasePort > 0 && !o.SharedPort {
		if perAddr == 0 {
			perAddr = 65536 - o.BasePort
		}
		if o.BasePort+perAddr-1 > 65535 {
			return fmt.Errorf("ports per address %d from base port %d go past 65535", perAddr, o.BasePort)
		}
	}
	recs := map[string]*Recording{}
	width := max(4, len(strconv.Itoa(o.Devices)))
	addr, addrIdx := first, 0
	for i := 0; i < o.Devices; i++ {
		name := ""
		if o.TemplateFor != nil {
			name = o.TemplateFor(i)
		} else {
			name = o.Templates[i%len(o.Templates)]
		}
		rec, ok := recs[name]
		if !ok {
			if rec, err = resolveTemplate(name); err != nil {
				return fmt.Errorf("device %d: %w", i, err)
			}
			recs[name] = rec
			for _, w := range rec.Warnings {
				f.log.Warn("recording: "+w, "recording", rec.Source)
			}
		}
		switch {
		case o.SharedPort:
			addr = sharedAddr(first, i)
		case perAddr > 0:
			for ; addrIdx < i/perAddr; addrIdx++ {
				if addr = addr.Next(); !addr.IsValid() || !addr.IsLoopback() && first.IsLoopback() {
					return fmt.Errorf("device %d: out of loopback addresses after %s", i, first)
				}
			}
		}
		port := 0
		switch {
		case o.SharedPort:
			port = o.BasePort // listen sets the port chosen for 0
		case o.BasePort > 0:
			port = o.BasePort + i%perAddr
		}
		seed := mix(uint64(o.Seed) ^ mix(uint64(i)+1))
		d := &Device{
			Index: i, Name: fmt.Sprintf("%s-%0*d", rec.Name, width, i+1), Template: rec.Name,
			Host: addr.String(), Port: port, farm: f, rec: rec, seed: seed,
			EngineID: engineID(i, seed),
		}
		d.life.Store(&life{epoch: f.started.UnixNano(), boots: 1})
		d.SetFault(o.Latency, o.Loss, false)
		f.devices = append(f.devices, d)
	}
	return nil
}

// useEpoll selects the epoll server where available (tests switch it off
// to exercise the portable one).
var useEpoll = epollSupported

// listen binds every device's socket, or the shared sockets.
func (f *Farm) listen() error {
	switch {
	case f.shared:
		srv, err := newSharedServer(f)
		if err != nil {
			hint := "choose another --base-port"
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				hint = "too many open files: raise the limit (ulimit -n)"
			}
			return fmt.Errorf("shared port %d: %w (%s)", f.devices[0].Port, err, hint)
		}
		f.srv = srv
	case useEpoll:
		srv, err := newEpollServer(f)
		if err != nil {
			return err
		}
		f.srv = srv
	default:
		f.srv = newConnServer(f)
	}
	for _, d := range f.devices {
		if err := f.srv.listen(d); err != nil {
			hint := "choose another --base-port or address"
			switch {
			case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
				hint = "too many open files: raise the limit (ulimit -n)"
			case errors.Is(err, syscall.EADDRNOTAVAIL):
				hint = "the address is not local: on macOS add loopback aliases, or use fewer addresses (--base-port lower)"
			}
			return fmt.Errorf("device %d (%s): listen on %s: %w (%s)", d.Index, d.Name,
				net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), err, hint)
		}
	}
	return nil
}

// Devices returns the farm's devices, in index order.
func (f *Farm) Devices() []*Device { return f.devices }

// RestartAll restarts every device (see Device.Restart).
func (f *Farm) RestartAll() {
	for _, d := range f.devices {
		d.Restart()
	}
}

// Close stops serving, cancels delayed answers and waits for every
// goroutine. It is safe to call more than once.
func (f *Farm) Close() error {
	f.closeOnce.Do(f.shutdown)
	<-f.watcherDone
	return f.closeErr
}

func (f *Farm) shutdown() {
	close(f.stop)
	f.stopTimers()
	if f.srv != nil {
		f.srv.stop()
		f.closeErr = f.srv.closeSockets()
	}
}

// engineID is a device's SNMPv3 engine ID: net-snmp's enterprise (8072),
// format 5 (octets), "psim", the device index and a seed-derived tag.
func engineID(i int, seed uint64) []byte {
	return []byte{0x80, 0x00, 0x1f, 0x88, 0x05, 'p', 's', 'i', 'm',
		byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), byte(seed >> 24), byte(seed >> 16), byte(seed >> 8), byte(seed)}
}
