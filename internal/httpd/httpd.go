// Package httpd is a node's HTTP server: /healthz (the process answers),
// /readyz (it works, or why not) and /metrics (its self-metrics), and
// whatever else a component mounts on it (Handle) before it serves.
package httpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/panoptes-go/panoptes/internal/websec"
)

// Options configure a Server.
type Options struct {
	// Listen is host:port.
	Listen string
	// Gatherer is served on /metrics (nil: no /metrics); Registerer
	// receives the handler's own error counter.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	// Ready is nil when the node works; its error is /readyz's 503.
	Ready func() error
	// Degraded says what works but not fully ("" when all is well):
	// /readyz shows it beside ready or not ready.
	Degraded func() string
	Logger   *slog.Logger
	// Web is TLS and basic auth (http.tls_server_config,
	// http.basic_auth_users): every path but /healthz needs it when set.
	Web websec.Config
}

// shutdownTimeout bounds the wait for requests in progress at Serve's end.
const shutdownTimeout = 5 * time.Second

// Server serves a node's endpoints.
type Server struct {
	opts Options
	mux  *http.ServeMux
	ln   net.Listener

	mu      sync.Mutex
	mounted map[string]*mounted // by Handle's pattern
}

// mounted is a handler that Handle can replace: http.ServeMux cannot
// forget a pattern, and an app stopped and started again by a config
// reload mounts its pages again.
type mounted struct{ h atomic.Pointer[http.Handler] }

func (m *mounted) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*m.h.Load()).ServeHTTP(w, r) }

// New returns a server with /healthz, /readyz and /metrics, not listening.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ready == nil {
		opts.Ready = func() error { return nil }
	}
	if opts.Degraded == nil {
		opts.Degraded = func() string { return "" }
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{Registry: opts.Registerer}))
	}
	return s
}

// readyz is 503 unless Ready is nil; 200 with Degraded's text when the
// node works in a degraded way.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.opts.Ready(); err != nil {
		msg := "not ready: " + err.Error()
		if d := s.opts.Degraded(); d != "" {
			msg += "; " + d
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	if d := s.opts.Degraded(); d != "" {
		fmt.Fprintln(w, "ready, "+d)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Handle serves h for pattern (http.ServeMux's patterns: "GET /api/v1/x"),
// also while serving; the same pattern again replaces its handler (a
// reloaded app), a conflicting one panics as ServeMux does. A nil Server
// (a node without HTTP) serves nothing.
func (s *Server) Handle(pattern string, h http.Handler) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.mounted[pattern]; m != nil {
		m.h.Store(&h)
		return
	}
	m := &mounted{}
	m.h.Store(&h)
	s.mux.Handle(pattern, m)
	if s.mounted == nil {
		s.mounted = map[string]*mounted{}
	}
	s.mounted[pattern] = m
}

// Listen binds the address, so that a busy port fails start-up rather
// than the first request. A nil Server listens nowhere.
func (s *Server) Listen() error {
	if s == nil {
		return nil
	}
	ln, err := s.opts.Web.Listen(s.opts.Listen)
	if err != nil {
		return &ListenError{Key: "http.listen", Addr: s.opts.Listen, Err: err}
	}
	s.ln = ln
	s.opts.Logger.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves on the bound address until ctx ends, then lets requests in
// progress finish (for a few seconds) and returns nil; an error if it
// could not serve. A nil Server waits for ctx and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	if s == nil {
		<-ctx.Done()
		return nil
	}
	if s.ln == nil {
		return errors.New("http: Serve before Listen")
	}
	srv := &http.Server{Handler: s.opts.Web.Protect(s.mux, "/healthz"), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: serve on %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve on %s: %w", s.Addr(), err)
	}
	return nil
}

// ListenError is a listener that could not open: Key is its config key, so
// that a command that sets the key from a flag (the demo's --http) can name
// the flag instead.
type ListenError struct {
	Key, Addr string
	Err       error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("%s %s: %s; set %s to a free address, or \"\" to disable", e.Key, e.Addr, e.Reason(), e.Key)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Reason is why it failed, without the address again ("address already in
// use", "permission denied"), or the whole error when it is not a socket's.
func (e *ListenError) Reason() string {
	var se *os.SyscallError
	if errors.As(e.Err, &se) {
		return se.Err.Error()
	}
	return e.Err.Error()
}
