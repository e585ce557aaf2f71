package prometheus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// ContentType is the Prometheus text exposition format the endpoint serves.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

var (
	bufPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	gzipPool = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level cannot fail
		return w
	}}
)

// Serve listens on Listen and serves the exposition at Path until ctx is
// done; it also sweeps stale series. It returns an error only when it
// cannot listen or the server fails.
func (e *Exposition) Serve(ctx context.Context) error {
	ln, err := e.web.Listen(e.listen)
	if err != nil {
		return fmt.Errorf("sink %s: listen on %s for the Prometheus exposition: %w", e.name, e.listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle(e.path, e)
	srv := &http.Server{Handler: e.web.Protect(mux), ReadHeaderTimeout: 10 * time.Second}
	e.addrMu.Lock()
	e.addr = ln.Addr().String()
	e.addrMu.Unlock()
	e.logger.Info("prometheus exposition listening", "sink", e.name, "addr", ln.Addr().String(), "path", e.path)

	var wg sync.WaitGroup
	sweepCtx, stopSweep := context.WithCancel(ctx)
	wg.Go(func() { e.sweepLoop(sweepCtx) })
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })

	select {
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = srv.Close() // a scrape that would not finish
		}
		<-served
	case err = <-served:
		err = fmt.Errorf("sink %s: prometheus exposition server on %s: %w", e.name, ln.Addr(), err)
	}
	stopSweep()
	wg.Wait()
	e.addrMu.Lock()
	e.addr = ""
	e.addrMu.Unlock()
	return err
}

// Addr is the address Serve listens on ("" before it listens and after it
// returned), useful with Listen "127.0.0.1:0".
func (e *Exposition) Addr() string {
	e.addrMu.Lock()
	defer e.addrMu.Unlock()
	return e.addr
}

func (e *Exposition) sweepLoop(ctx context.Context) {
	t := time.NewTicker(e.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.sweep(e.now().UnixNano())
		}
	}
}

// ServeHTTP writes the exposition (gzip-compressed when the client accepts
// it, as Prometheus does). It can also be mounted on another server.
func (e *Exposition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	if r.Method == http.MethodHead {
		return
	}
	start := time.Now()
	var out io.Writer = w
	var gz *gzip.Writer
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Header().Set("Content-Encoding", "gzip")
		gz = gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		out = gz
	}
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(out)
	err := e.WriteExposition(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	bufPool.Put(bw)
	if gz != nil {
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
		gz.Reset(nil)
		gzipPool.Put(gz)
	}
	e.metrics.scrapes.Inc()
	e.metrics.scrapeSeconds.Observe(time.Since(start).Seconds())
	if err != nil { // the scraper went away; nothing to tell it
		e.logger.Debug("prometheus scrape aborted", "sink", e.name, "remote", r.RemoteAddr, "err", err)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (listed without "q=0").
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "q" {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// WriteExposition writes every live series to w in the text format,
// families in name order. Each family is copied under a read lock and
// rendered without it, so writes wait at most for one family's copy and a
// slow scraper delays nobody.
func (e *Exposition) WriteExposition(w *bufio.Writer) error {
	now := e.now().UnixNano()
	e.mu.RLock()
	fams := make([]*family, len(e.sorted))
	copy(fams, e.sorted)
	e.mu.RUnlock()

	snap, _ := e.snapshots.Get().(*[]entry)
	if snap == nil {
		snap = new([]entry)
	}
	defer func() {
		clear(*snap) // drop the label strings
		*snap = (*snap)[:0]
		e.snapshots.Put(snap)
	}()
	for _, f := range fams {
		e.mu.RLock()
		*snap = append((*snap)[:0], f.entries...)
		e.mu.RUnlock()
		header := false
		for i := range *snap {
			en := &(*snap)[i]
			if en.expires < now {
				continue
			}
			if !header {
				w.WriteString(f.header)
				header = true
			}
			w.WriteString(f.name)
			w.WriteString(en.labels)
			b := w.AvailableBuffer()
			b = append(b, ' ')
			b = appendValue(b, en.value)
			if en.tsMs != 0 {
				b = append(b, ' ')
				b = strconv.AppendInt(b, en.tsMs, 10)
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendValue writes integers exactly (a counter above 2^53 keeps every
// digit in the text; Prometheus itself stores float64) and floats in the
// shortest form that parses back, with the format's NaN/+Inf/-Inf.
func appendValue(b []byte, v metric.Value) []byte {
	if v.IsInteger() {
		if v.IsNegative() {
			return strconv.AppendInt(b, v.Int64(), 10)
		}
		return strconv.AppendUint(b, v.Uint64(), 10)
	}
	f := v.Float64()
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
