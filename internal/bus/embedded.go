package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

const (
	// storeSubdir holds the embedded server's state under DataDir.
	storeSubdir = "nats"
	// serverNameFile keeps the server name stable across restarts, so a
	// future cluster of embedded servers recognizes this node's state.
	serverNameFile = "server_name"
	startTimeout   = 30 * time.Second
)

// startEmbedded starts a JetStream-enabled server storing under
// opts.DataDir and waits until it accepts connections. It returns the
// credentials of this process's in-process connection (zero when the
// server has no users).
func startEmbedded(ctx context.Context, opts Options) (*server.Server, User, error) {
	storeDir := filepath.Join(opts.DataDir, storeSubdir)
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, User{}, fmt.Errorf("bus: embedded server: create data dir: %w", err)
	}
	name, err := serverName(storeDir)
	if err != nil {
		return nil, User{}, err
	}
	sopts := &server.Options{
		ServerName: name,
		JetStream:  true,
		StoreDir:   storeDir,
		DontListen: opts.Listen == "",
		NoSigs:     true, // the process owns signal handling
	}
	if opts.Listen != "" {
		host, port, err := splitListen(opts.Listen)
		if err != nil {
			return nil, User{}, err
		}
		sopts.Host, sopts.Port = host, port
	}
	self, err := clientListenerOptions(sopts, opts)
	if err != nil {
		return nil, User{}, err
	}
	if err := federationOptions(sopts, opts); err != nil {
		return nil, User{}, err
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, User{}, fmt.Errorf("bus: embedded server: %w", err)
	}
	log := &serverLogger{l: opts.Logger.With("component", "nats-server")}
	srv.SetLoggerV2(log, false, false, false)

	srv.Start()
	if err := waitReady(ctx, srv, log); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		if busy := busyListener(opts, err); busy != nil {
			return nil, User{}, busy
		}
		return nil, User{}, fmt.Errorf("bus: embedded server (listen %q, data dir %s): %w", opts.Listen, storeDir, err)
	}
	return srv, self, nil
}

// waitReady polls until the server accepts clients, reporting a fatal
// startup error (JetStream store, listener) as soon as the server logs it.
func waitReady(ctx context.Context, srv *server.Server, log *serverLogger) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if fatal := log.fatal(); fatal != "" {
			return errors.New(fatal)
		}
		if srv.ReadyForConnections(50 * time.Millisecond) {
			if !srv.JetStreamEnabled() {
				return errors.New("JetStream did not start")
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("not ready: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", startTimeout)
		}
	}
}

// splitListen parses host:port; port 0 asks for a free port.
func splitListen(listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("bus: listen %q: %w; use host:port such as 0.0.0.0:4222", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bus: listen %q: port %q is not a number from 0 to 65535", listen, p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// serverName reads the name stored in dir, or makes and stores one:
// "panoptes-<host>-<random>", unique even for hosts with the same name.
func serverName(dir string) (string, error) {
	path := filepath.Join(dir, serverNameFile)
	if b, err := os.ReadFile(path); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("bus: embedded server: read server name: %w", err)
	}
	host, _ := os.Hostname()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	name := "panoptes-" + nameToken(host) + "-" + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(path, []byte(name+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("bus: embedded server: store server name: %w", err)
	}
	return name, nil
}

// nameToken keeps letters, digits, '-' and '_' (server names end up in
// subjects and file names).
func nameToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "node"
	}
	return b.String()
}

// serverLogger routes the server's warnings and errors to slog; notices,
// debug and trace are dropped (too chatty for a component). Fatal messages
// are recorded so startup can report them: the server's own logger would exit.
type serverLogger struct {
	l         *slog.Logger
	mu        sync.Mutex
	lastFatal string
}

func (s *serverLogger) Noticef(string, ...any) {}
func (s *serverLogger) Debugf(string, ...any)  {}
func (s *serverLogger) Tracef(string, ...any)  {}

func (s *serverLogger) Warnf(format string, v ...any) {
	s.l.Warn(fmt.Sprintf(format, v...))
}

func (s *serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if hint := securityHint(msg); hint != "" {
		s.l.Error(msg, "hint", hint)
		return
	}
	s.l.Error(msg)
}

// securityHint names the config keys behind a refused route or leaf
// connection, which the server reports in its own words.
func securityHint(msg string) string {
	switch {
	case strings.Contains(msg, "Leafnode Error 'Authorization Violation'"):
		return "the hub refused this edge's credentials: check bus.leaf.user and bus.leaf.password (listed in the hub's bus.leaf_users) or bus.leaf.creds_file"
	case strings.Contains(msg, "Route Error 'Authorization Violation'"):
		return "another server refused this server's route: bus.cluster.user and bus.cluster.password must be the same on every server"
	case strings.Contains(msg, "TLS leafnode handshake error"):
		return "check bus.leaf.tls on the edge and bus.leaf_tls on the hub: each side's ca_file must have signed the other's certificate"
	case strings.Contains(msg, "TLS route handshake error"):
		return "check bus.cluster.tls on every server: ca_file must have signed the other servers' certificates, which must name their route hosts"
	case strings.Contains(msg, " - cid:") && strings.Contains(msg, "authentication error"):
		return "a client's credentials are not in bus.listen_users (a poller's or panoptes status's bus.user and bus.password)"
	case strings.Contains(msg, " - cid:") && strings.Contains(msg, "TLS handshake error"):
		return "a client's TLS was refused: check bus.listen_tls here (ca_file must have signed the clients' certificates) and the client's bus.tls"
	}
	return ""
}

func (s *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	s.l.Error(msg)
	s.mu.Lock()
	s.lastFatal = msg
	s.mu.Unlock()
}

func (s *serverLogger) fatal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastFatal
}

// busyListener turns the server's "Error listening on port: ADDR, ...
// address already in use" into one line naming the config key to change,
// with the address once; nil for any other error.
func busyListener(opts Options, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "address already in use") {
		return nil
	}
	for _, l := range []struct{ key, addr string }{
		{"bus.listen", opts.Listen}, {"bus.cluster.listen", opts.Cluster.Listen}, {"bus.leaf_listen", opts.LeafListen},
	} {
		if _, port, e := net.SplitHostPort(l.addr); e == nil && port != "0" && strings.Contains(msg, ":"+port+",") {
			return fmt.Errorf("bus: %s %s: address already in use (another panoptes or NATS server?); set %s to a free address", l.key, l.addr, l.key)
		}
	}
	return nil
}
