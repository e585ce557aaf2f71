package gnmi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// Error is a failed RPC with the polling status it means and a message that
// says what to fix. It never holds a secret.
type Error struct {
	Status int // metric.Status*
	Msg    string
	Err    error // the gRPC error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the polling status of err: an *Error's, the timeout
// status for a deadline, else network failure (metric.StatusSuccess for
// nil).
func StatusOf(err error) int {
	if err == nil {
		return metric.StatusSuccess
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return metric.StatusTimeout
	}
	return metric.StatusNetworkFailure
}

// classify turns an RPC error into an *Error: refused credentials → auth
// failure naming the credential, unreachable → network failure, deadline →
// timeout, a path the target does not support → missing metrics naming the
// paths, TLS trouble → auth failure naming the key to fix.
func (c *Client) classify(err error, rpc string, paths []string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return &Error{Status: metric.StatusTimeout, Msg: fmt.Sprintf("gnmi %s: %s: no answer within the deadline", c.cfg.Address, rpc), Err: err}
		}
		if errors.Is(err, context.Canceled) {
			return err
		}
		return &Error{Status: metric.StatusNetworkFailure, Msg: fmt.Sprintf("gnmi %s: %s: %v", c.cfg.Address, rpc, err), Err: err}
	}
	msg := st.Message()
	where := fmt.Sprintf("gnmi %s: %s", c.cfg.Address, rpc)
	e := &Error{Err: err}
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied:
		e.Status = metric.StatusAuthFailure
		e.Msg = fmt.Sprintf("%s: the target refused %s (%s): check its username and password", where, c.cfg.credName(), msg)
	case codes.DeadlineExceeded:
		e.Status = metric.StatusTimeout
		e.Msg = fmt.Sprintf("%s: no answer within the deadline (%s)", where, msg)
	case codes.NotFound, codes.InvalidArgument, codes.Unimplemented:
		e.Status = metric.StatusMissingMetrics
		what := "the request"
		if len(paths) > 0 {
			what = "path " + strings.Join(paths, ", ")
		}
		e.Msg = fmt.Sprintf("%s: the target does not support %s: %s", where, what, msg)
	case codes.Unavailable:
		e.Status = metric.StatusNetworkFailure
		e.Msg = where + ": " + c.transportHint(msg)
		switch {
		case tlsFailure(msg):
			e.Status = metric.StatusAuthFailure
		case c.certAsked.Load():
			e.Status = metric.StatusAuthFailure
			e.Msg = fmt.Sprintf("%s: TLS: the target asked for a client certificate (mutual TLS) and closed the connection without one: "+
				"set %s's tls.cert_file and tls.key_file (%s)", where, c.cfg.credName(), msg)
		}
	case codes.Canceled:
		if errors.Is(err, context.Canceled) {
			return err
		}
		e.Status = metric.StatusNetworkFailure
		e.Msg = fmt.Sprintf("%s: cancelled: %s", where, msg)
	case codes.ResourceExhausted:
		e.Status = metric.StatusInternalFailure
		e.Msg = fmt.Sprintf("%s: %s (a message larger than the client's max message size, %d bytes?)", where, msg, c.cfg.MaxMsgSize)
	default:
		e.Status = metric.StatusNetworkFailure
		e.Msg = fmt.Sprintf("%s: %s: %s", where, st.Code(), msg)
	}
	return e
}

func tlsFailure(msg string) bool {
	return strings.Contains(msg, "authentication handshake failed") || strings.Contains(msg, "tls:") ||
		strings.Contains(msg, "x509:")
}

// transportHint explains a connection failure.
func (c *Client) transportHint(msg string) string {
	cred := c.cfg.credName()
	switch {
	case strings.Contains(msg, "x509: certificate signed by unknown authority") || strings.Contains(msg, "certificate is not trusted"):
		return fmt.Sprintf("TLS: the target's certificate is not signed by a CA we trust: set %s's tls.ca_file to the CA that signed it (%s)", cred, msg)
	case strings.Contains(msg, "x509: certificate is valid for") || strings.Contains(msg, "x509: cannot validate certificate"):
		return fmt.Sprintf("TLS: the target's certificate does not name %s: set %s's tls.server_name to a name it holds (%s)", c.cfg.Address, cred, msg)
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate authority"):
		return fmt.Sprintf("TLS: the target refused our client certificate (mutual TLS): set %s's tls.cert_file and tls.key_file to a certificate its CA signed (%s)", cred, msg)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Sprintf("TLS: the target does not speak TLS on this port: disable tls in %s, or use its TLS port (%s)", cred, msg)
	case tlsFailure(msg):
		return fmt.Sprintf("TLS handshake failed: check %s's tls settings (%s)", cred, msg)
	case strings.Contains(msg, "server preface") || strings.Contains(msg, "EOF"):
		return fmt.Sprintf("the target closed the connection: it may require TLS (enable tls in %s) (%s)", cred, msg)
	case strings.Contains(msg, "connection refused"):
		return fmt.Sprintf("connection refused: check the address and port and that gNMI is enabled on the target (%s)", msg)
	}
	return fmt.Sprintf("unreachable: %s", msg)
}
