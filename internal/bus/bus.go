// Package bus is the metrics bus and distributed engine: NATS with JetStream,
// embedded in the process (state under a data directory) or external. It owns
// the connection, the metrics stream and publishing; other packages (inventory,
// sinks, cluster) use its JetStream handle for their buckets and consumers.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// The metrics stream and its subjects.
const (
	StreamName    = "PANOPTES_METRICS"
	SubjectPrefix = "panoptes.metrics."
	AllSubjects   = SubjectPrefix + ">"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxAge   = 24 * time.Hour
	DefaultMaxBytes = 1 << 30
	DefaultReplicas = 1

	// duplicateWindow is how long the stream remembers message IDs (a
	// publisher that sets Nats-Msg-Id can retry without duplicates).
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

// Options configure Open.
type Options struct {
	// URL of external NATS servers (comma-separated); "" starts an embedded server.
	URL string
	// DataDir holds the embedded server's JetStream store (state survives restarts).
	DataDir string
	// Listen is host:port where the embedded server accepts other processes;
	// "" keeps it in-process only (no TCP port). Port 0 picks a free port.
	Listen string
	// Metrics stream retention and replicas (defaults 24h, 1 GiB, 1).
	MaxAge   time.Duration
	MaxBytes int64
	Replicas int
	// Name is the client connection name shown by the server.
	Name       string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Bus is a connection to JetStream with the metrics stream in place.
type Bus struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	srv      *server.Server // nil with an external URL
	replicas int
	logger   *slog.Logger
	metrics  *metrics
	closed   chan struct{} // closed by the connection's closed handler
	subjects subjectCache
	pool     sync.Pool // *publishState

	closeOnce sync.Once
	closeErr  error
}

// Open starts the embedded server when opts.URL is empty, connects, and
// creates or updates the metrics stream. Close releases everything.
func Open(ctx context.Context, opts Options) (*Bus, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	b := &Bus{
		replicas: opts.Replicas,
		logger:   opts.Logger,
		metrics:  newMetrics(opts.Registerer),
		closed:   make(chan struct{}),
	}
	b.pool.New = func() any { return new(publishState) }

	var inProcess nats.InProcessConnProvider
	if opts.URL == "" {
		srv, err := startEmbedded(ctx, opts)
		if err != nil {
			return nil, err
		}
		b.srv = srv
		inProcess = srv
	}
	nc, err := b.connect(ctx, opts, inProcess)
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
	if err := b.ensureStream(ctx, opts); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (o *Options) applyDefaults() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Replicas == 0 {
		o.Replicas = DefaultReplicas
	}
	switch {
	case o.MaxAge < 0:
		return fmt.Errorf("bus: max_age %s is negative; use a positive duration such as 24h", o.MaxAge)
	case o.MaxBytes < 0:
		return fmt.Errorf("bus: max_bytes %d is negative; use a positive size such as 1GiB", o.MaxBytes)
	case o.Replicas < 1 || o.Replicas > 5:
		return fmt.Errorf("bus: replicas %d is out of range; JetStream allows 1 to 5", o.Replicas)
	case o.URL == "" && strings.TrimSpace(o.DataDir) == "":
		return errors.New("bus: data_dir is empty; the embedded NATS server needs a directory for its state (or set bus.url to use an external server)")
	case o.URL == "" && o.Replicas > 1:
		return fmt.Errorf("bus: replicas %d needs a NATS cluster; the embedded single server supports 1 (or set bus.url)", o.Replicas)
	case o.URL != "" && o.Listen != "":
		return errors.New("bus: listen is only for the embedded server; leave it empty when bus.url is set")
	}
	return nil
}

func (b *Bus) connect(ctx context.Context, opts Options, inProcess nats.InProcessConnProvider) (*nats.Conn, error) {
	timeout := connectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	logger := b.logger
	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1), // a bus that gives up reconnecting stops the node
		nats.ReconnectWait(time.Second),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("bus disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("bus reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			logger.Warn("bus async error", "subject", subj, "err", err)
		}),
	}
	url := opts.URL
	if inProcess != nil {
		nopts = append(nopts, nats.InProcessServer(inProcess))
		url = ""
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		if inProcess != nil {
			return nil, fmt.Errorf("bus: connect to embedded server: %w", err)
		}
		return nil, fmt.Errorf("bus: connect to %s: %w (check bus.url and that the server is running)", redactURLs(opts.URL), err)
	}
	return nc, nil
}

// redactURLs hides credentials in user:pass@host URLs for error messages.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			scheme := ""
			if j := strings.Index(p, "://"); j >= 0 && j < at {
				scheme = p[:j+3]
			}
			parts[i] = scheme + "***@" + p[at+1:]
		}
	}
	return strings.Join(parts, ",")
}

func (b *Bus) ensureStream(ctx context.Context, opts Options) error {
	_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Panoptes metrics groups, one per message",
		Subjects:    []string{AllSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      opts.MaxAge,
		MaxBytes:    opts.MaxBytes,
		Replicas:    opts.Replicas,
		Duplicates:  min(duplicateWindow, opts.MaxAge),
	})
	if err != nil {
		return fmt.Errorf("bus: create or update stream %s: %w", StreamName, err)
	}
	return nil
}

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

// Ready returns nil when the connection is up and the metrics stream answers.
func (b *Bus) Ready() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("bus: connection is %s", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := b.js.Stream(ctx, StreamName); err != nil {
		return fmt.Errorf("bus: stream %s: %w", StreamName, err)
	}
	return nil
}

// Close drains the connection (pending publishes and acks are flushed), then
// shuts the embedded server down and waits for it. It is safe to call twice.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		if b.nc != nil {
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
