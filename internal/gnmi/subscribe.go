package gnmi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// Mode is a subscription's mode in a STREAM subscription.
type Mode string

// Subscription modes.
const (
	Sample        Mode = "sample"
	OnChange      Mode = "on_change"
	TargetDefined Mode = "target_defined"
)

// Subscription is one path of a subscription list.
type Subscription struct {
	Path              string
	Mode              Mode // STREAM only; default TargetDefined
	SampleInterval    time.Duration
	HeartbeatInterval time.Duration
	SuppressRedundant bool
}

// Request is a subscription list.
type Request struct {
	Prefix        string
	Subscriptions []Subscription
	Encoding      pb.Encoding
	UpdatesOnly   bool
}

// Paths lists the request's paths, for messages.
func (r *Request) Paths() []string {
	out := make([]string, len(r.Subscriptions))
	for i, s := range r.Subscriptions {
		out[i] = s.Path
	}
	return out
}

func (c *Client) subscribeRequest(r *Request, mode pb.SubscriptionList_Mode) (*pb.SubscribeRequest, error) {
	l := &pb.SubscriptionList{Mode: mode, Encoding: r.Encoding, UpdatesOnly: r.UpdatesOnly}
	var err error
	if l.Prefix, err = c.prefix(r.Prefix); err != nil {
		return nil, err
	}
	if len(r.Subscriptions) == 0 {
		return nil, errors.New("gnmi: a subscription needs at least one path")
	}
	for _, s := range r.Subscriptions {
		p, err := ParsePath(s.Path)
		if err != nil {
			return nil, err
		}
		sub := &pb.Subscription{Path: p, SampleInterval: uint64(s.SampleInterval), HeartbeatInterval: uint64(s.HeartbeatInterval),
			SuppressRedundant: s.SuppressRedundant}
		switch s.Mode {
		case Sample:
			sub.Mode = pb.SubscriptionMode_SAMPLE
		case OnChange:
			sub.Mode = pb.SubscriptionMode_ON_CHANGE
		case TargetDefined, "":
			sub.Mode = pb.SubscriptionMode_TARGET_DEFINED
		default:
			return nil, fmt.Errorf("gnmi: subscription %s: mode %q: use sample, on_change or target_defined", s.Path, s.Mode)
		}
		l.Subscription = append(l.Subscription, sub)
	}
	return &pb.SubscribeRequest{Request: &pb.SubscribeRequest_Subscribe{Subscribe: l}}, nil
}

// ParseMode reads a mode name (case-insensitive, "-" or "_").
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")); m {
	case Sample, OnChange, TargetDefined:
		return m, nil
	case "":
		return TargetDefined, nil
	}
	return "", fmt.Errorf("mode %q: use sample, on_change or target_defined", s)
}

// ParseEncoding reads an encoding name: json, json_ietf or proto.
func ParseEncoding(s string) (pb.Encoding, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_") {
	case "json":
		return pb.Encoding_JSON, nil
	case "json_ietf", "":
		return pb.Encoding_JSON_IETF, nil
	case "proto":
		return pb.Encoding_PROTO, nil
	}
	return 0, fmt.Errorf("encoding %q: use json, json_ietf or proto", s)
}

// Once subscribes in ONCE mode and returns what the target sent before its
// sync_response.
func (c *Client) Once(ctx context.Context, r *Request) ([]*pb.Notification, error) {
	req, err := c.subscribeRequest(r, pb.SubscriptionList_ONCE)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	stream, err := c.stub.Subscribe(c.rpcContext(ctx))
	if err != nil {
		return nil, c.classify(err, "Subscribe ONCE", r.Paths())
	}
	if err := stream.Send(req); err != nil {
		return nil, c.classify(recvError(stream, err), "Subscribe ONCE", r.Paths())
	}
	var out []*pb.Notification
	for {
		resp, err := stream.Recv()
		if err != nil {
			if err == io.EOF {
				return out, nil // closed without sync_response: what came is all
			}
			return out, c.classify(err, "Subscribe ONCE", r.Paths())
		}
		if resp.GetSyncResponse() {
			_ = stream.CloseSend()
			return out, nil
		}
		if n := resp.GetUpdate(); n != nil {
			out = append(out, n)
		}
	}
}

// recvError returns the stream's status when Send failed with io.EOF (the
// server ended the stream: the reason is in Recv).
func recvError(stream pb.GNMI_SubscribeClient, err error) error {
	if err != io.EOF {
		return err
	}
	_, rerr := stream.Recv()
	if rerr == nil || rerr == io.EOF {
		return err
	}
	return rerr
}

// Poller is a POLL-mode subscription: each Poll asks the target for the
// current values.
type Poller struct {
	c      *Client
	r      *Request
	stream pb.GNMI_SubscribeClient
	cancel context.CancelFunc
	first  bool
}

// Poll opens a POLL subscription. The target answers the subscription
// itself with the current values; Poll collects them, later calls of
// Poller.Poll ask again.
func (c *Client) Poll(ctx context.Context, r *Request) (*Poller, error) {
	req, err := c.subscribeRequest(r, pb.SubscriptionList_POLL)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(c.rpcContext(ctx))
	stream, err := c.stub.Subscribe(sctx)
	if err != nil {
		cancel()
		return nil, c.classify(err, "Subscribe POLL", r.Paths())
	}
	if err := stream.Send(req); err != nil {
		cancel()
		return nil, c.classify(recvError(stream, err), "Subscribe POLL", r.Paths())
	}
	return &Poller{c: c, r: r, stream: stream, cancel: cancel, first: true}, nil
}

// Poll returns the values of one poll (the first call: the answer to the
// subscription), read until the target's sync_response or ctx's end.
func (p *Poller) Poll(ctx context.Context) ([]*pb.Notification, error) {
	if !p.first {
		if err := p.stream.Send(&pb.SubscribeRequest{Request: &pb.SubscribeRequest_Poll{Poll: &pb.Poll{}}}); err != nil {
			return nil, p.c.classify(recvError(p.stream, err), "Subscribe POLL", p.r.Paths())
		}
	}
	p.first = false
	type result struct {
		out []*pb.Notification
		err error
	}
	done := make(chan result, 1)
	go func() {
		var out []*pb.Notification
		for {
			resp, err := p.stream.Recv()
			if err != nil {
				if err == io.EOF {
					err = errors.New("the target ended the poll subscription")
				}
				done <- result{out, p.c.classify(err, "Subscribe POLL", p.r.Paths())}
				return
			}
			if resp.GetSyncResponse() {
				done <- result{out, nil}
				return
			}
			if n := resp.GetUpdate(); n != nil {
				out = append(out, n)
			}
		}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		p.cancel() // the reader returns with the stream's end
		<-done
		return nil, &Error{Status: StatusOf(ctx.Err()), Msg: fmt.Sprintf("gnmi %s: poll: %v", p.c.cfg.Address, ctx.Err()), Err: ctx.Err()}
	}
}

// Close ends the subscription.
func (p *Poller) Close() {
	_ = p.stream.CloseSend()
	p.cancel()
}

// Session is one STREAM subscription: it ends with the stream (an error)
// or its context. Receive delivers each response.
type Session struct {
	c      *Client
	r      *Request
	stream pb.GNMI_SubscribeClient
}

// Stream opens a STREAM subscription; ctx ends it.
func (c *Client) Stream(ctx context.Context, r *Request) (*Session, error) {
	req, err := c.subscribeRequest(r, pb.SubscriptionList_STREAM)
	if err != nil {
		return nil, err
	}
	stream, err := c.stub.Subscribe(c.rpcContext(ctx))
	if err != nil {
		return nil, c.classify(err, "Subscribe STREAM", r.Paths())
	}
	if err := stream.Send(req); err != nil {
		return nil, c.classify(recvError(stream, err), "Subscribe STREAM", r.Paths())
	}
	return &Session{c: c, r: r, stream: stream}, nil
}

// Recv returns the next response; the stream's end is an error (io.EOF
// when the target closed it cleanly).
func (s *Session) Recv() (*pb.SubscribeResponse, error) {
	resp, err := s.stream.Recv()
	if err != nil {
		if err == io.EOF {
			return nil, &Error{Status: metric.StatusNetworkFailure, Msg: fmt.Sprintf("gnmi %s: the target closed the stream", s.c.cfg.Address), Err: err}
		}
		return nil, s.c.classify(err, "Subscribe STREAM", s.r.Paths())
	}
	return resp, nil
}
