package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/backoff"
)

const (
	retryFirstDelay = 250 * time.Millisecond
	retryMaxDelay   = 5 * time.Second
	apiTimeout      = 2 * time.Second
)

// retryUntil calls try until it succeeds, returns a permanent error, ctx is
// done or deadline passes, waiting with exponential backoff in between
// (jittered: the nodes of a cluster started together do not retry in
// step). It returns the last error and how many attempts were made.
func retryUntil(ctx context.Context, deadline time.Time, permanent func(error) bool, logf func(int, error), try func(context.Context) error) (int, error) {
	bo := backoff.Backoff{Min: retryFirstDelay, Max: retryMaxDelay}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, min(apiTimeout, max(time.Until(deadline), 100*time.Millisecond)))
		err := try(actx)
		cancel()
		if err == nil || permanent(err) {
			return attempt, err
		}
		delay := bo.Next()
		if ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return attempt, err
		}
		logf(attempt, err)
		if backoff.Sleep(ctx, delay) != nil {
			return attempt, err
		}
	}
}

// connect connects in-process to the embedded server (as self when the
// server has users), or to opts.URL.
func (b *Bus) connect(ctx context.Context, opts Options, inProcess nats.InProcessConnProvider, self User, deadline time.Time) (*nats.Conn, error) {
	logger := b.logger
	nopts := []nats.Option{
		nats.Name(opts.Name),
		nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1), // a bus that gives up reconnecting stops the node
		nats.ReconnectWait(time.Second),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("bus disconnected; publishing to the local buffer until it is back", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("bus reconnected", "server", nc.ConnectedUrlRedacted())
			b.buf.wake()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			logger.Warn("bus async error", "subject", subj, "err", err)
		}),
	}
	if inProcess != nil {
		if self.User != "" {
			nopts = append(nopts, nats.UserInfo(self.User, self.Password))
		}
		nc, err := nats.Connect("", append(nopts, nats.InProcessServer(inProcess))...)
		if err != nil {
			return nil, fmt.Errorf("bus: connect to embedded server: %w", err)
		}
		return nc, nil
	}
	return dial(ctx, opts, deadline, logger, nopts)
}

// Connect connects to the NATS servers at opts.URL with the same
// credentials, TLS and start-up retry as Open, and nothing else: no
// embedded server, stream, bucket or publish buffer. It is for tools that
// read what the nodes keep on the bus (panoptes status). Only URL, Name,
// User, Password, NKeySeedFile, CredsFile, TLS, ConnectRetry and Logger are
// used; extra options (handlers, nats.NoReconnect) are added last. A
// permanent failure (credentials, TLS) is returned at once with what to fix;
// an unreachable server is retried until ConnectRetry or ctx ends.
func Connect(ctx context.Context, opts Options, extra ...nats.Option) (*nats.Conn, error) {
	if strings.TrimSpace(opts.URL) == "" {
		return nil, errors.New("bus: connect: no URL; give bus.url (or a node's bus.listen)")
	}
	if err := opts.checkCredentials(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.ConnectRetry, DefaultConnectRetry)
	nopts := append([]nats.Option{nats.Name(opts.Name), nats.Timeout(connectTimeout)}, extra...)
	return dial(ctx, opts, time.Now().Add(opts.ConnectRetry), opts.Logger, nopts)
}

// dial connects to opts.URL with opts' credentials and TLS, retrying an
// unreachable cluster until deadline.
func dial(ctx context.Context, opts Options, deadline time.Time, logger *slog.Logger, nopts []nats.Option) (*nats.Conn, error) {
	creds, err := opts.clientOptions()
	if err != nil {
		return nil, err
	}
	// Credentials and TLS go first: options the caller adds win.
	nopts = append(creds, nopts...)
	var nc *nats.Conn
	attempts, err := retryUntil(ctx, deadline, permanentConnectError,
		func(n int, err error) {
			logger.Warn("bus: NATS not reachable yet; retrying", "url", redactURLs(opts.URL), "attempt", n, "err", err)
		},
		func(actx context.Context) error {
			if err := actx.Err(); err != nil {
				return err
			}
			var err error
			nc, err = nats.Connect(opts.URL, nopts...)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("bus: connect to %s: %w (after %d attempt(s); %s)", redactURLs(opts.URL), err, attempts, connectHint(err))
	}
	return nc, nil
}

// permanentConnectError: retrying will not help (credentials, TLS).
func permanentConnectError(err error) bool {
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	var rhe tls.RecordHeaderError
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) ||
		errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) || errors.As(err, &rhe) || clientCertRefused(err) ||
		strings.Contains(strings.ToLower(err.Error()), "authorization") || strings.Contains(err.Error(), "tls:")
}

func connectHint(err error) string {
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization"):
		return "check bus.user/bus.password, bus.nkey_seed_file or bus.creds_file; a node's embedded server accepts the users in its bus.listen_users"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return "the server requires TLS (a node's bus.listen_tls): use tls:// URLs or set bus.tls.ca_file"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "the server does not offer TLS: remove bus.tls or use nats:// URLs"
	case clientCertRefused(err):
		return "the server refused this client's certificate (or its lack of one): check bus.tls.cert_file and key_file (signed by the CA in the node's bus.listen_tls.ca_file)"
	case permanentConnectError(err):
		return "check bus.tls: ca_file must hold the CA that signed the servers' certificates (a node's bus.listen_tls.cert_file), and the URL host must match them"
	default:
		return "check bus.url and that the NATS servers are running and reachable"
	}
}

// clientCertRefused: the TLS alert a server sends when it requires a client
// certificate and got none, or one it cannot verify. With TLS 1.3 the
// client may only see the server close the connection right after the
// handshake (nats.go says so in its error).
func clientCertRefused(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "connection closed by remote after TLS handshake") ||
		strings.Contains(msg, "remote error: tls: certificate required") ||
		strings.Contains(msg, "remote error: tls: unknown certificate authority") ||
		strings.Contains(msg, "remote error: tls: bad certificate")
}

// permanentStreamError: the request was understood and refused for a
// reason waiting will not change.
func permanentStreamError(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false // timeout, no responders: the cluster is not ready
	}
	switch apiErr.ErrorCode {
	case 10005, 10008, 10009, 10006, 10023, 10118: // no peers, cluster not available/active, not leader, resources, offline
		return false
	}
	return true
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
