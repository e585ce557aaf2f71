// Package gnmisim serves simulated devices of package sim as gNMI targets:
// the same living data as their SNMP agents (interfaces with counters at
// the seeded rates) in OpenConfig paths, plus components, BGP and LLDP
// neighbours derived from each device's seed.
//
// Each target is the reference implementation of github.com/openconfig/gnmi
// — its cache (one per target, fed every UpdateInterval) and its Subscribe
// server — with Get and Capabilities written on top, served on its own
// loopback port, optionally with TLS (mutual when the config asks) and a
// username/password. What the reference server lacks is added around it,
// not inside: a stream wrapper gives STREAM subscriptions their modes
// (SAMPLE with sample_interval and suppress_redundant, ON_CHANGE with
// heartbeat_interval, TARGET_DEFINED: counters sampled, the rest on change;
// the reference server sends every cache change to every subscriber), the
// JSON and JSON_IETF encodings (it sends what its cache holds: PROTO typed
// values), and a default prefix target (it requires one; devices do not).
//
// Every UpdateInterval a target feeds its whole tree, one atomic
// notification per container (an interface, a component, a BGP
// neighbour's state): the reference cache stores a container as one leaf
// and its Subscribe server queues and sends it as one notification, so
// their per-leaf work (path strings, tree lookups, queue entries, timers,
// sends) is done once a container; the stream wrapper picks the leaves the
// subscriptions name and sends them as one non-atomic notification, as
// devices send a container's leaves. With PerLeaf the cache is fed one
// notification per leaf (the reference server's way) and leaves that do
// not move by themselves (names, types, statuses, MTUs) are fed every
// tenth tick and after a restart.
//
// Faults: Drop ends every open stream (Unavailable), Silence stops updates
// while streams stay open, Flood updates as fast as the target can, Restart
// resets the device's counters (sim.Device.Restart) and drops the streams,
// and RemoveInterface deletes an interface (subscribers get the delete).
package gnmisim

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openconfig/gnmi/cache"
	pb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/subscribe"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// Defaults for zero Options fields.
const (
	DefaultAddr           = "127.0.0.1"
	DefaultUpdateInterval = time.Second
)

// Options configure the targets.
type Options struct {
	// Addr is the address every target listens on (default 127.0.0.1);
	// target i listens on BasePort+i, or on a free port when BasePort is 0.
	Addr     string
	BasePort int
	// TLS, when set, is the servers' TLS configuration (its ClientAuth
	// and ClientCAs make it mutual); nil serves plaintext.
	TLS *tls.Config
	// Username and Password, when Username is set, are required of every
	// RPC as gRPC metadata "username" and "password".
	Username, Password string
	// UpdateInterval is how often each target reads its device and feeds
	// its cache: the finest sample interval it honours (default 1s).
	UpdateInterval time.Duration
	// PerLeaf feeds the cache one notification per leaf and sends one per
	// leaf, as the reference server does; by default the cache holds
	// atomic containers and a container's leaves (an interface's) go out
	// as one notification with their updates, as devices send them.
	PerLeaf bool
	Logger  *slog.Logger
}

// Server is the running set of targets.
type Server struct {
	targets []*Target
	opts    Options
	log     *slog.Logger
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// Target is one device served over gNMI. Its methods are safe for
// concurrent use.
type Target struct {
	Device *sim.Device
	// Name is the gNMI target name (the device's name); requests without
	// a prefix target get it.
	Name string
	Addr string // host:port

	srv     *grpc.Server
	lis     net.Listener
	cache   *cache.Cache
	sub     *subscribe.Server
	every   time.Duration
	perLeaf bool

	silent, flood atomic.Bool
	updates       atomic.Uint64 // leaves fed to the cache
	subscribes    atomic.Uint64 // Subscribe streams opened
	ticks         atomic.Uint64 // feeds; every staticEvery-th is full
	forceFull     atomic.Bool   // the next feed is full (restart, removal)

	// feedMu serialises feeds; the builder's interned prefixes and string
	// values live here (a fed value is never modified).
	feedMu   sync.Mutex
	prefixes map[string]*pb.Path
	strs     map[string]*pb.TypedValue

	mu      sync.Mutex
	streams map[*subStream]struct{}
	removed map[string]bool // interface names deleted by RemoveInterface
	wake    chan struct{}
}

var glogOnce sync.Once

// quietGlog keeps the reference server's glog lines off the disk: by
// default glog writes log files into the temporary directory. Its lines go
// to stderr instead, unless the process set -logtostderr itself.
func quietGlog() {
	glogOnce.Do(func() {
		if f := flag.Lookup("logtostderr"); f != nil && f.Value.String() == "false" {
			_ = f.Value.Set("true")
		}
	})
}

// Start serves a gNMI target for every device until ctx ends or Close is
// called. On error nothing is left running.
func Start(ctx context.Context, devices []*sim.Device, opts Options) (*Server, error) {
	if len(devices) == 0 {
		return nil, errors.New("gnmisim: no devices")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.UpdateInterval <= 0 {
		opts.UpdateInterval = DefaultUpdateInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	quietGlog()
	s := &Server{opts: opts, log: opts.Logger, stop: make(chan struct{})}
	for i, d := range devices {
		port := 0
		if opts.BasePort > 0 {
			port = opts.BasePort + i
		}
		t, err := s.newTarget(d, net.JoinHostPort(opts.Addr, strconv.Itoa(port)))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("gnmisim: device %s: %w", d.Name, err)
		}
		s.targets = append(s.targets, t)
	}
	for _, t := range s.targets {
		t.feed(t.Device.Now())
		t.cache.Sync(t.Name)
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			_ = t.srv.Serve(t.lis)
		}()
		go func() {
			defer s.wg.Done()
			t.run(s.stop)
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	return s, nil
}

func (s *Server) newTarget(d *sim.Device, addr string) (*Target, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Target{Device: d, Name: d.Name, Addr: lis.Addr().String(), lis: lis, every: s.opts.UpdateInterval, perLeaf: s.opts.PerLeaf,
		streams: map[*subStream]struct{}{}, removed: map[string]bool{}, wake: make(chan struct{}, 1),
		prefixes: map[string]*pb.Path{}, strs: map[string]*pb.TypedValue{}}
	t.cache = cache.New([]string{t.Name}, cache.DisableEventDrivenEmulation())
	t.sub, err = subscribe.NewServer(t.cache, subscribe.WithoutDupReport())
	if err != nil {
		_ = lis.Close()
		return nil, err
	}
	t.cache.SetClient(t.sub.Update)
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.authUnary),
		grpc.ChainStreamInterceptor(s.authStream, t.wrapStream),
	}
	if s.opts.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.opts.TLS)))
	}
	t.srv = grpc.NewServer(opts...)
	pb.RegisterGNMIServer(t.srv, &service{Server: t.sub, t: t})
	return t, nil
}

// Targets returns the targets in device order.
func (s *Server) Targets() []*Target { return s.targets }

// Close stops every target and waits for them.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.stop)
		for _, t := range s.targets {
			t.Drop()
			t.srv.Stop()
		}
	})
	s.wg.Wait()
}

// run feeds the cache every UpdateInterval (as fast as it can while
// flooding) until stop closes.
func (t *Target) run(stop <-chan struct{}) {
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for {
		if t.flood.Load() {
			select {
			case <-stop:
				return
			default:
			}
		} else {
			select {
			case <-stop:
				return
			case <-tick.C:
			case <-t.wake:
			}
		}
		if !t.silent.Load() {
			t.feed(t.Device.Now())
		}
	}
}

// feed reads the device at now and writes every leaf into the cache: one
// atomic notification per container, or one per leaf with PerLeaf.
func (t *Target) feed(now time.Time) {
	t.mu.Lock()
	removed := make(map[string]bool, len(t.removed))
	for k := range t.removed {
		removed[k] = true
	}
	t.mu.Unlock()
	t.feedMu.Lock()
	defer t.feedMu.Unlock()
	epoch := t.Device.Epoch()
	ifs := t.Device.Interfaces(now)
	full := t.ticks.Add(1)%staticEvery == 1 || t.forceFull.Swap(false)
	b := &builder{t: t, target: t.Name, ts: now.UnixNano(), full: full, perLeaf: t.perLeaf}
	if t.perLeaf {
		b.out = make([]*pb.Notification, 0, len(ifs)*30+64)
	} else {
		b.out = make([]*pb.Notification, 0, 2*len(ifs)+32)
	}
	b.system(t.Device, epoch)
	b.interfaces(ifs, epoch, removed)
	b.components(t.Device, now)
	b.bgp(t.Device, now, epoch)
	b.lldp(ifs, removed)
	for _, n := range b.out {
		// An error is a stale timestamp (a clock stepped back): the cache
		// keeps the newer value.
		_ = t.cache.GnmiUpdate(n)
	}
	t.updates.Add(uint64(b.leafs))
}

// Updates is the number of leaf values fed to the target's cache.
func (t *Target) Updates() uint64 { return t.updates.Load() }

// Streams lists the client addresses of the target's open Subscribe
// streams, sorted: one per subscriber in steady state.
func (t *Target) Streams() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.streams))
	for s := range t.streams {
		out = append(out, s.peer)
	}
	slices.Sort(out)
	return out
}

// Subscribes is the number of Subscribe streams ever opened to the target.
func (t *Target) Subscribes() uint64 { return t.subscribes.Load() }

// TargetStreams is one target's line of StreamsHandler.
type TargetStreams struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	// Streams are the client addresses of the open Subscribe streams.
	Streams []string `json:"streams"`
	// Subscribes counts the streams ever opened.
	Subscribes uint64 `json:"subscribes"`
}

// StreamsHandler serves GET /gnmi/streams: every target's open Subscribe
// streams and how many were opened (JSON), so a test in another process
// can see who subscribes to what.
func (s *Server) StreamsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		out := make([]TargetStreams, len(s.targets))
		for i, t := range s.targets {
			out[i] = TargetStreams{Name: t.Name, Addr: t.Addr, Streams: t.Streams(), Subscribes: t.Subscribes()}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// Drop ends every open Subscribe stream with Unavailable, as a device that
// resets its sessions.
func (t *Target) Drop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.streams {
		s.drop()
	}
}

// Silence stops (true) or resumes (false) updates; open streams stay open.
func (t *Target) Silence(on bool) { t.silent.Store(on) }

// Flood makes the target update its cache as fast as it can (true), so a
// subscriber slower than it falls behind.
func (t *Target) Flood(on bool) {
	t.flood.Store(on)
	t.poke()
}

// Restart resets the device (counters and uptime from 0, see
// sim.Device.Restart), feeds the new values and drops the streams, as a
// rebooting device does.
func (t *Target) Restart() {
	t.Device.Restart()
	t.forceFull.Store(true)
	t.Drop()
	t.poke()
}

// Update feeds the cache now instead of at the next tick.
func (t *Target) Update() { t.feed(t.Device.Now()) }

func (t *Target) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// RemoveInterface deletes /interfaces/interface[name=name] (and its LLDP
// neighbours): subscribers receive the delete, later updates omit it.
func (t *Target) RemoveInterface(name string) error {
	t.mu.Lock()
	t.removed[name] = true
	t.mu.Unlock()
	now := t.Device.Now().UnixNano()
	for _, p := range []*pb.Path{
		{Elem: []*pb.PathElem{elem("interfaces"), elem("interface", "name", name)}},
		{Elem: []*pb.PathElem{elem("lldp"), elem("interfaces"), elem("interface", "name", name)}},
	} {
		n := &pb.Notification{Timestamp: now, Prefix: &pb.Path{Target: t.Name}, Delete: []*pb.Path{p}}
		if err := t.cache.GnmiUpdate(n); err != nil {
			return err
		}
	}
	return nil
}

// Credentials.

func (s *Server) authorized(ctx context.Context) error {
	if s.opts.Username == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	u, p := first("username"), first("password")
	if subtle.ConstantTimeCompare([]byte(u), []byte(s.opts.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(p), []byte(s.opts.Password)) != 1 {
		return status.Error(codes.Unauthenticated, "invalid username or password")
	}
	return nil
}

func (s *Server) authUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.authorized(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.authorized(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// ServerTLS builds a target TLS configuration from files: the target's
// certificate and key, and, for mutual TLS, the CA that must have signed
// every client's certificate ("" accepts clients without one).
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("gnmisim: TLS certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("gnmisim: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("gnmisim: client CA %s: no PEM certificate", clientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// DropAll ends every target's open streams (Drop).
func (s *Server) DropAll() {
	for _, t := range s.targets {
		t.Drop()
	}
}

// SilenceAll stops or resumes every target's updates (Silence).
func (s *Server) SilenceAll(on bool) {
	for _, t := range s.targets {
		t.Silence(on)
	}
}

// Restarted tells the targets their devices restarted (sim.Farm.RestartAll):
// streams are dropped and the reset values fed at once.
func (s *Server) Restarted() {
	for _, t := range s.targets {
		t.Drop()
		t.forceFull.Store(true)
		t.poke()
	}
}
