package gnmi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxMsgSize = 16 << 20
)

// Config says how to reach one target. Secrets stay in it: errors, logs
// and metrics name the credential (Credential) and its keys, never values.
type Config struct {
	// Address is host:port.
	Address string
	// Target, when set, is the prefix target of every request (gNMI
	// gateways and multi-target devices need it; most devices ignore it).
	Target string
	// Credential names where Username, Password and TLS came from (a
	// config credential's name), for error messages.
	Credential         string
	Username, Password string
	TLS                TLS
	// Timeout bounds connecting and each unary RPC (default 10s).
	Timeout time.Duration
	// MaxMsgSize is the largest message accepted from the target (default
	// 16 MiB); a larger one fails the RPC (a malformed, huge notification).
	MaxMsgSize int
}

// TLS configures transport security. Without Enabled the connection is
// plaintext (lab targets only).
type TLS struct {
	Enabled bool
	// CAFile verifies the target's certificate (default: the system's
	// roots). CertFile and KeyFile are this client's certificate for
	// mutual TLS. ServerName overrides the name verified.
	CAFile, CertFile, KeyFile, ServerName string
	// SkipVerify accepts any certificate: only when configured, never a
	// fallback.
	SkipVerify bool
}

// Client is a connection to one target.
type Client struct {
	cfg  Config
	conn *grpc.ClientConn
	stub pb.GNMIClient
	// certAsked: the target asked for a client certificate and none is
	// configured (TLS 1.3 reports the refusal only as a closed connection).
	certAsked atomic.Bool
}

// Dial prepares a connection to cfg.Address. The connection is made by the
// first RPC (gRPC connects lazily), so a wrong address or certificate shows
// as that RPC's error; see Classify.
func Dial(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		return nil, errors.New("gnmi: no target address")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	c := &Client{cfg: cfg}
	creds := insecure.NewCredentials()
	if cfg.TLS.Enabled {
		tc, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		if len(tc.Certificates) == 0 {
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				c.certAsked.Store(true)
				return &tls.Certificate{}, nil // none: the target decides
			}
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient("passthrough:///"+cfg.Address,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxMsgSize)),
		// Memory per target (a node holds thousands of connections, each
		// one stream that mostly receives): fixed flow-control windows
		// instead of gRPC's BDP estimate, which grows them to megabytes a
		// connection under sample bursts while our queue is bounded
		// anyway; a smaller read buffer; the write buffer (a subscribe
		// request, pings) released between writes.
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(streamWindow),
		grpc.WithReadBufferSize(16<<10),
		grpc.WithWriteBufferSize(8<<10),
		grpc.WithSharedWriteBuffer(true))
	if err != nil {
		return nil, fmt.Errorf("gnmi %s: %w", cfg.Address, err)
	}
	c.conn, c.stub = conn, pb.NewGNMIClient(conn)
	return c, nil
}

// streamWindow is the flow-control window of a target's stream and
// connection: at the sample bursts of a 55-port switch (about 100 KB a
// sample) the target still sends a whole sample without waiting for the
// window twice on a local network.
const streamWindow = 256 << 10

func (c *Config) credName() string {
	if c.Credential == "" {
		return "the target's credential"
	}
	return fmt.Sprintf("credential %q", c.Credential)
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.SkipVerify} //nolint:gosec // only when configured
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: tls.ca_file: %w", c.credName(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: tls.ca_file %s: no PEM certificate in it", c.credName(), c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return nil, fmt.Errorf("%s: tls.cert_file and tls.key_file go together (mutual TLS)", c.credName())
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: tls.cert_file/tls.key_file: %w", c.credName(), err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// rpcContext adds the credentials as gRPC metadata ("username",
// "password", as gNMI's authentication convention).
func (c *Client) rpcContext(ctx context.Context) context.Context {
	if c.cfg.Username == "" && c.cfg.Password == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "username", c.cfg.Username, "password", c.cfg.Password)
}

// unary bounds a unary RPC by the timeout.
func (c *Client) unary(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	return c.rpcContext(ctx), cancel
}

// Capabilities asks what the target supports.
func (c *Client) Capabilities(ctx context.Context) (*pb.CapabilityResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	r, err := c.stub.Capabilities(ctx, &pb.CapabilityRequest{})
	if err != nil {
		return nil, c.classify(err, "Capabilities", nil)
	}
	return r, nil
}

// Get reads paths (relative to prefix, "" for none) in one request.
func (c *Client) Get(ctx context.Context, prefix string, paths []string, enc pb.Encoding) ([]*pb.Notification, error) {
	req := &pb.GetRequest{Encoding: enc, Type: pb.GetRequest_ALL}
	var err error
	if req.Prefix, err = c.prefix(prefix); err != nil {
		return nil, err
	}
	for _, s := range paths {
		p, err := ParsePath(s)
		if err != nil {
			return nil, err
		}
		req.Path = append(req.Path, p)
	}
	ctx, cancel := c.unary(ctx)
	defer cancel()
	r, err := c.stub.Get(ctx, req)
	if err != nil {
		return nil, c.classify(err, "Get", paths)
	}
	return r.GetNotification(), nil
}

func (c *Client) prefix(s string) (*pb.Path, error) {
	if s == "" && c.cfg.Target == "" {
		return nil, nil
	}
	p := &pb.Path{}
	if s != "" {
		var err error
		if p, err = ParsePath(s); err != nil {
			return nil, fmt.Errorf("prefix: %w", err)
		}
	}
	p.Target = c.cfg.Target
	return p, nil
}
