// Package bus is the metrics bus and distributed engine: NATS with JetStream,
// embedded in the process (state under a data directory) or external. It owns
// the connection, the metrics stream and publishing; other packages (inventory,
// sinks, cluster) use its JetStream handle for their buckets and consumers.
// What travels on it (subjects, framing, compression) is internal/wire's:
// consumers need that package, not this one.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

const (
	// duplicateWindow is how long the stream remembers message IDs: a
	// buffered message retried within it is stored once.
	duplicateWindow = 2 * time.Minute
	// maxAsyncPending bounds async publishes awaiting their ack on this
	// connection, across all callers.
	maxAsyncPending = 4096
	// ackTimeout drops a publish whose ack never comes (lost leader, partition).
	ackTimeout     = 30 * time.Second
	connectTimeout = 10 * time.Second
	drainTimeout   = 10 * time.Second
	readyTimeout   = 2 * time.Second
)

// Bus is a connection to JetStream with the metrics stream in place.
type Bus struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	srv      *server.Server // nil with an external URL
	replicas int
	// The metrics streams: their retention, the partitions asked for (0:
	// keep the bus's), the edge domains they source, and the generation
	// publishes go to (see partitions.go).
	maxAge        time.Duration
	maxBytes      int64
	partitions    int
	sourceDomains []string
	layout        atomic.Pointer[wire.Layout]
	layoutTick    time.Duration
	retireAfter   time.Duration
	logger        *slog.Logger
	metrics       *metrics
	closed        chan struct{} // closed by the connection's closed handler
	subjects      wire.SubjectCache
	pool          statePool

	buf            *buffer
	publishTimeout time.Duration
	codec          wire.Codec // how messages are compressed (Options.Compression)
	coalesce       *coalescer // nil without Options.Linger
	idPrefix       string
	idSeq          atomic.Uint64
	spillDir       string             // "" when the buffer is not spilled at Close
	stopBG         context.CancelFunc // stops the drainer and the sourcer
	bgWG           sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open starts the embedded server when opts.URL is empty, connects, and
// creates or updates the metrics stream (sourcing edge domains' streams on a
// hub). An external cluster, or a cluster of embedded servers, that is not
// up yet is retried with backoff for opts.ConnectRetry. A background
// goroutine publishes the local buffer; Close stops it and releases
// everything.
func Open(ctx context.Context, opts Options) (*Bus, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	m := newMetrics(opts.Registerer)
	b := &Bus{
		replicas:       opts.Replicas,
		maxAge:         opts.MaxAge,
		maxBytes:       opts.MaxBytes,
		partitions:     opts.Partitions,
		layoutTick:     opts.LayoutTick,
		retireAfter:    opts.RetireAfter,
		sourceDomains:  opts.SourceDomains,
		logger:         opts.Logger,
		metrics:        m,
		closed:         make(chan struct{}),
		buf:            newBuffer(opts.Buffer.MaxMessages, opts.Buffer.MaxBytes, m),
		publishTimeout: opts.PublishTimeout,
		codec:          codecOf(opts.Compression),
		idPrefix:       randomPrefix(),
	}
	b.layout.Store(&wire.Legacy)
	if opts.Linger > 0 {
		b.coalesce = newCoalescer(b, opts.Linger)
	}
	deadline := time.Now().Add(opts.ConnectRetry)

	var inProcess nats.InProcessConnProvider
	var self User
	if opts.URL == "" {
		srv, user, err := startEmbedded(ctx, opts)
		if err != nil {
			return nil, err
		}
		b.srv, self = srv, user
		inProcess = srv
	}
	nc, err := b.connect(ctx, opts, inProcess, self, deadline)
	if err != nil {
		b.shutdownServer()
		return nil, err
	}
	b.nc = nc
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(maxAsyncPending),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	b.js = js
	if err := b.ensureLayout(ctx, deadline); err != nil {
		_ = b.Close()
		return nil, err
	}
	if !opts.Buffer.NoSpill && opts.DataDir != "" {
		b.spillDir = opts.DataDir
		n, err := b.buf.unspill(opts.DataDir)
		if err != nil {
			b.logger.Warn("bus: spilled buffer", "err", err)
		}
		if n > 0 {
			b.logger.Info("bus: publishing metrics buffered before the last stop", "messages", n)
		}
	}
	bg, stop := context.WithCancel(context.Background())
	b.stopBG = stop
	b.bgWG.Add(2)
	go func() {
		defer b.bgWG.Done()
		b.runDrainer(bg)
	}()
	go func() {
		defer b.bgWG.Done()
		b.runLayout(bg)
	}()
	if len(opts.SourceDomains) > 0 {
		b.bgWG.Add(1)
		go func() {
			defer b.bgWG.Done()
			b.runSourcer(bg, opts.SourceDomains)
		}()
	}
	return b, nil
}

// randomPrefix starts this instance's message IDs.
func randomPrefix() string { return randomHex(8) + "-" }

// JetStream returns the JetStream handle for buckets and consumers.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn returns the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Replicas is the replica count for streams and buckets.
func (b *Bus) Replicas() int { return b.replicas }

// ClientURL is the embedded server's client URL when it listens on TCP
// (Options.Listen), for other processes to use as their bus URL; "" otherwise.
func (b *Bus) ClientURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// Ready returns nil when the connection is up and the current
// generation's first metrics stream answers.
func (b *Bus) Ready() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("bus: connection is %s", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	name := b.Layout().Stream(0)
	if _, err := b.js.Stream(ctx, name); err != nil {
		return fmt.Errorf("bus: stream %s: %w", name, err)
	}
	return nil
}

// Close stops the buffer's drainer after one last bounded attempt to empty
// it (what remains is spilled under DataDir for the next Open, or counted
// as dropped), drains the connection (pending publishes and acks are
// flushed), then shuts the embedded server down and waits for it. It is
// safe to call twice.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		if b.coalesce != nil {
			b.coalesce.close() // its batches settle into the stream or the buffer
		}
		b.stopBuffer()
		if b.nc != nil && b.nc.Status() != nats.CONNECTED {
			b.nc.Close() // nothing can be flushed to a server that is gone
		} else if b.nc != nil {
			if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				b.closeErr = fmt.Errorf("bus: drain: %w", err)
				b.nc.Close()
			}
			select {
			case <-b.closed:
			case <-time.After(drainTimeout + time.Second):
				b.nc.Close()
				b.closeErr = errors.Join(b.closeErr, errors.New("bus: drain did not finish in time"))
			}
		}
		b.shutdownServer()
	})
	return b.closeErr
}

func (b *Bus) shutdownServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// stopBuffer stops the drainer, tries once more to publish what is
// buffered, and spills (or drops, counted) the rest.
func (b *Bus) stopBuffer() {
	if b.stopBG == nil {
		return
	}
	b.stopBG()
	b.bgWG.Wait()
	if b.buf.empty() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
	b.drainOnce(ctx)
	cancel()
	n, _, _ := b.buf.stats()
	if n == 0 {
		return
	}
	if b.spillDir != "" {
		spilled, err := b.buf.spill(b.spillDir)
		if err == nil {
			b.logger.Warn("bus: unpublished metrics kept on disk for the next start", "messages", spilled, "dir", b.spillDir)
			return
		}
		b.logger.Error("bus: keep unpublished metrics on disk", "err", err)
	}
	b.buf.drop()
	b.logger.Error("bus: unpublished metrics dropped at close", "messages", n)
}

// Health is a snapshot of the bus's state for /readyz, without a network
// round trip.
type Health struct {
	Connected     bool   // the client is connected
	Buffered      int    // messages waiting in the local buffer
	BufferedBytes int64  // their approximate memory
	Dropped       uint64 // metrics groups dropped for a full buffer since Open
	LeafLinks     int    // leaf connections of the embedded server
}

// Health reports the connection and the local buffer.
func (b *Bus) Health() Health {
	n, bytes, dropped := b.buf.stats()
	return Health{
		Connected: b.nc != nil && b.nc.Status() == nats.CONNECTED,
		Buffered:  n, BufferedBytes: bytes, Dropped: dropped,
		LeafLinks: b.LeafConnections(),
	}
}

// Degraded is "" when the bus takes publishes directly, else what is wrong
// in words for /readyz, such as "degraded: 1200 messages buffered (bus
// disconnected)". A degraded node keeps polling.
func (h Health) Degraded() string {
	if h.Connected && h.Buffered == 0 {
		return ""
	}
	s := fmt.Sprintf("degraded: %d messages buffered", h.Buffered)
	if !h.Connected {
		s += " (bus disconnected)"
	}
	if h.Dropped > 0 {
		s += fmt.Sprintf(", %d dropped for a full buffer", h.Dropped)
	}
	return s
}
