package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/panoptes-go/panoptes/internal/httpd"
	"github.com/panoptes-go/panoptes/internal/websec"
)

type httpServer struct {
	srv  *http.Server
	mux  *http.ServeMux // components mount handlers on it (ServeMux is safe for that while serving)
	done chan struct{}
}

// startHTTP serves /healthz (the process answers), /readyz (503 unless
// ready() is nil; 200 with degraded()'s text when it works in a degraded
// way) and /metrics, with web's TLS and basic auth (/healthz stays open).
// It listens before returning so a busy port fails start-up.
func startHTTP(addr string, web websec.Config, reg *prometheus.Registry, ready func() error, degraded func() string, log *slog.Logger) (*httpServer, error) {
	ln, err := web.Listen(addr)
	if err != nil {
		return nil, &httpd.ListenError{Key: "http.listen", Addr: addr, Err: err}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			msg := "not ready: " + err.Error()
			if d := degraded(); d != "" {
				msg += "; " + d
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		if d := degraded(); d != "" {
			fmt.Fprintln(w, "ready, "+d)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &httpServer{
		srv:  &http.Server{Handler: web.Protect(mux, "/healthz"), ReadHeaderTimeout: 10 * time.Second},
		mux:  mux,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("http listening", "addr", ln.Addr().String())
	return s, nil
}

func (s *httpServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}
