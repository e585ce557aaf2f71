package gnmisim

import (
	"context"
	"sync"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// subStream wraps a Subscribe stream of the reference server: it completes
// the request (prefix target, the default origin), and for STREAM
// subscriptions decides per leaf what is sent after the initial sync, by
// the subscription's mode; it re-encodes values for JSON and JSON_IETF.
type subStream struct {
	grpc.ServerStream
	t      *Target
	ctx    context.Context
	cancel context.CancelFunc

	peer string // the client's address

	mu      sync.Mutex
	dropped bool

	seen    bool // the SubscriptionList arrived
	mode    pb.SubscriptionList_Mode
	enc     pb.Encoding
	subs    []pattern
	synced  bool
	last    map[string]sent
	keyBuf  []byte
	elemBuf []*pb.PathElem

	// The batch being gathered (see Options.PerLeaf): sent when a leaf of
	// another container comes, before any other message, or batchWait
	// after it began. sendMu serialises sends (the timer's and the
	// server's).
	sendMu  sync.Mutex
	batch   *pb.Notification
	timer   *time.Timer
	sendErr error
}

var errStreamDone = status.Error(codes.Canceled, "stream ended")

// batchWait bounds how long a container's leaves wait for the next one.
const batchWait = 2 * time.Millisecond

// maxBatch bounds the updates of one batched notification.
const maxBatch = 256

type sent struct {
	at  time.Time
	val *pb.TypedValue
}

// pattern is one subscription's path with its mode.
type pattern struct {
	origin    string
	elems     []*pb.PathElem
	mode      pb.SubscriptionMode
	sample    time.Duration
	heartbeat time.Duration
	suppress  bool
}

func (t *Target) wrapStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod != pb.GNMI_Subscribe_FullMethodName {
		return h(srv, ss)
	}
	ctx, cancel := context.WithCancel(ss.Context())
	s := &subStream{ServerStream: ss, t: t, ctx: ctx, cancel: cancel, last: map[string]sent{}}
	if p, ok := peer.FromContext(ss.Context()); ok && p.Addr != nil {
		s.peer = p.Addr.String()
	}
	t.subscribes.Add(1)
	t.mu.Lock()
	t.streams[s] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.streams, s)
		t.mu.Unlock()
		cancel()
	}()
	err := h(srv, s)
	s.sendMu.Lock() // no send after the handler returned
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.sendErr == nil && s.batch != nil && err == nil {
		s.sendErr = s.flushLocked()
	}
	s.batch, s.sendErr = nil, errStreamDone
	s.sendMu.Unlock()
	s.mu.Lock()
	dropped := s.dropped
	s.mu.Unlock()
	if dropped {
		return status.Error(codes.Unavailable, "stream dropped (simulated fault)")
	}
	return err
}

func (s *subStream) drop() {
	s.mu.Lock()
	s.dropped = true
	s.mu.Unlock()
	s.cancel()
}

func (s *subStream) Context() context.Context { return s.ctx }

func (s *subStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	req, ok := m.(*pb.SubscribeRequest)
	if !ok || s.seen || req.GetSubscribe() == nil {
		return nil
	}
	s.seen = true
	l := req.GetSubscribe()
	switch l.GetEncoding() {
	case pb.Encoding_JSON, pb.Encoding_JSON_IETF, pb.Encoding_PROTO:
	default:
		return status.Errorf(codes.Unimplemented, "encoding %v is not supported: use JSON, JSON_IETF or PROTO", l.GetEncoding())
	}
	if l.Prefix == nil {
		l.Prefix = &pb.Path{}
	}
	if l.Prefix.Target == "" {
		l.Prefix.Target = s.t.Name
	}
	if l.Prefix.Origin == "openconfig" {
		l.Prefix.Origin = ""
	}
	l.Prefix = completeKeys(l.Prefix)
	s.mode, s.enc = l.GetMode(), l.GetEncoding()
	for _, sub := range l.GetSubscription() {
		if sub.GetPath().GetOrigin() == "openconfig" {
			sub.Path.Origin = ""
		}
		sub.Path = completeKeys(sub.GetPath())
		origin := sub.GetPath().GetOrigin()
		if origin == "" {
			origin = l.Prefix.GetOrigin()
		}
		s.subs = append(s.subs, pattern{
			origin: origin, elems: append(append([]*pb.PathElem(nil), l.Prefix.GetElem()...), sub.GetPath().GetElem()...),
			mode: sub.GetMode(), sample: time.Duration(sub.GetSampleInterval()), heartbeat: time.Duration(sub.GetHeartbeatInterval()),
			suppress: sub.GetSuppressRedundant(),
		})
	}
	return nil
}

func (s *subStream) SendMsg(m any) error {
	resp, ok := m.(*pb.SubscribeResponse)
	if !ok {
		return s.send(m)
	}
	if resp.GetSyncResponse() {
		s.synced = true
		return s.send(m)
	}
	n := resp.GetUpdate()
	if n == nil {
		return s.send(m)
	}
	if s.mode == pb.SubscriptionList_STREAM && len(n.GetUpdate()) == 1 && !s.pass(n) {
		return nil
	}
	if s.enc != pb.Encoding_PROTO && len(n.GetUpdate()) > 0 {
		n = encodeJSON(n, s.enc)
		resp = &pb.SubscribeResponse{Response: &pb.SubscribeResponse_Update{Update: n}}
	}
	if s.t.perLeaf || s.mode != pb.SubscriptionList_STREAM || len(n.GetDelete()) > 0 || len(n.GetUpdate()) == 0 {
		return s.send(resp)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendErr != nil {
		return s.sendErr
	}
	if b := s.batch; b != nil && b.Timestamp == n.Timestamp && len(b.Update) < maxBatch && samePath(b.Prefix, n.Prefix) {
		b.Update = append(b.Update, n.Update...)
		return nil
	}
	if err := s.flushLocked(); err != nil {
		return err
	}
	s.batch = &pb.Notification{Timestamp: n.Timestamp, Prefix: n.Prefix, Update: append(make([]*pb.Update, 0, 32), n.Update...)}
	if s.timer == nil {
		s.timer = time.AfterFunc(batchWait, s.flushTimer)
	} else {
		s.timer.Reset(batchWait)
	}
	return nil
}

// send sends m after the batch being gathered.
func (s *subStream) send(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.flushLocked(); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

func (s *subStream) flushTimer() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	_ = s.flushLocked() // kept in sendErr: the server's next send returns it
}

func (s *subStream) flushLocked() error {
	if s.sendErr != nil {
		return s.sendErr
	}
	b := s.batch
	if b == nil {
		return nil
	}
	s.batch = nil
	s.sendErr = s.ServerStream.SendMsg(&pb.SubscribeResponse{Response: &pb.SubscribeResponse_Update{Update: b}})
	return s.sendErr
}

// samePath compares two prefixes (the cache's leaves of one container
// share theirs).
func samePath(a, b *pb.Path) bool {
	if a == b {
		return true
	}
	if a.GetTarget() != b.GetTarget() || a.GetOrigin() != b.GetOrigin() || len(a.GetElem()) != len(b.GetElem()) {
		return false
	}
	for i, e := range a.GetElem() {
		f := b.GetElem()[i]
		if e.GetName() != f.GetName() || len(e.GetKey()) != len(f.GetKey()) {
			return false
		}
		for k, v := range e.GetKey() {
			if w, ok := f.GetKey()[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

// pass decides whether a one-leaf notification is sent, and records it.
func (s *subStream) pass(n *pb.Notification) bool {
	u := n.GetUpdate()[0]
	s.elemBuf = append(append(s.elemBuf[:0], n.GetPrefix().GetElem()...), u.GetPath().GetElem()...)
	origin := n.GetPrefix().GetOrigin()
	var p *pattern
	for i := range s.subs {
		if s.subs[i].origin == origin && matches(s.subs[i].elems, s.elemBuf) {
			p = &s.subs[i]
			break
		}
	}
	if p == nil {
		return true
	}
	s.keyBuf = appendKey(s.keyBuf[:0], origin, s.elemBuf)
	// Intervals count in the feeds' timestamps, not in when this stream
	// got to a leaf: a feed's leaves are sent over hundreds of
	// milliseconds on a loaded machine, and by the wall clock a leaf sent
	// late in one feed and early in the next was not due (so every other
	// sample of it was skipped).
	now := time.Now()
	if ts := n.GetTimestamp(); ts > 0 {
		now = time.Unix(0, ts)
	}
	prev, seen := s.last[string(s.keyBuf)]
	if s.synced && seen && !s.due(p, prev, u.GetVal(), now, isCounter(s.elemBuf)) {
		return false
	}
	s.last[string(s.keyBuf)] = sent{at: now, val: u.GetVal()}
	return true
}

// due applies the subscription mode to a leaf last sent as prev.
func (s *subStream) due(p *pattern, prev sent, v *pb.TypedValue, now time.Time, counter bool) bool {
	since := now.Sub(prev.at)
	elapsed := func(d time.Duration) bool { return d > 0 && (since >= d-d/20 || since < 0) } // < 0: the device's clock went back
	mode := p.mode
	sample := p.sample
	if mode == pb.SubscriptionMode_TARGET_DEFINED {
		mode, sample = pb.SubscriptionMode_ON_CHANGE, 0
		if counter {
			mode, sample = pb.SubscriptionMode_SAMPLE, s.t.every
		}
	}
	same := sameValue(prev.val, v)
	switch mode {
	case pb.SubscriptionMode_ON_CHANGE:
		return !same || elapsed(p.heartbeat)
	default: // SAMPLE
		// The cache is fed every t.every, each feed stamped when it ran: a
		// late feed then a punctual one are less than an interval apart,
		// and with the 5 % slack alone the second sample was skipped (a
		// 20 s gap in a 10 s series on a loaded machine). Half a feed
		// period of slack keeps one sample per interval.
		if sample > 0 && !(since >= sample-max(sample/20, s.t.every/2) || since < 0) {
			return false
		}
		if p.suppress && same {
			return elapsed(p.heartbeat)
		}
		return true
	}
}

func isCounter(elems []*pb.PathElem) bool {
	for _, e := range elems {
		if e.GetName() == "counters" || e.GetName() == "messages" {
			return true
		}
	}
	return false
}

// matches reports whether pattern is a prefix of elems, "*" matching any
// name or key value and "..." any number of elements.
func matches(pattern, elems []*pb.PathElem) bool {
	for i, pe := range pattern {
		if pe.GetName() == "..." {
			return true
		}
		if i >= len(elems) {
			return false
		}
		e := elems[i]
		if pe.GetName() != "*" && pe.GetName() != e.GetName() {
			return false
		}
		for k, v := range pe.GetKey() {
			if v != "*" && e.GetKey()[k] != v {
				return false
			}
		}
	}
	return true
}

func appendKey(b []byte, origin string, elems []*pb.PathElem) []byte {
	b = append(b, origin...)
	for _, e := range elems {
		b = append(b, '/')
		b = append(b, e.GetName()...)
		for k, v := range e.GetKey() {
			b = append(b, '[')
			b = append(b, k...)
			b = append(b, '=')
			b = append(b, v...)
			b = append(b, ']')
		}
	}
	return b
}

func sameValue(a, b *pb.TypedValue) bool {
	switch x := a.GetValue().(type) {
	case *pb.TypedValue_UintVal:
		y, ok := b.GetValue().(*pb.TypedValue_UintVal)
		return ok && x.UintVal == y.UintVal
	case *pb.TypedValue_IntVal:
		y, ok := b.GetValue().(*pb.TypedValue_IntVal)
		return ok && x.IntVal == y.IntVal
	case *pb.TypedValue_StringVal:
		y, ok := b.GetValue().(*pb.TypedValue_StringVal)
		return ok && x.StringVal == y.StringVal
	case *pb.TypedValue_BoolVal:
		y, ok := b.GetValue().(*pb.TypedValue_BoolVal)
		return ok && x.BoolVal == y.BoolVal
	case *pb.TypedValue_DoubleVal:
		y, ok := b.GetValue().(*pb.TypedValue_DoubleVal)
		return ok && x.DoubleVal == y.DoubleVal
	}
	return false
}

// encodeJSON returns a copy of n whose values are JSON (RFC 7951 for
// JSON_IETF: 64-bit integers as strings, identities module-qualified as
// the cache holds them).
func encodeJSON(n *pb.Notification, enc pb.Encoding) *pb.Notification {
	out := &pb.Notification{Timestamp: n.Timestamp, Prefix: n.Prefix, Delete: n.Delete, Atomic: n.Atomic,
		Update: make([]*pb.Update, len(n.Update))}
	for i, u := range n.Update {
		b := jsonScalar(u.GetVal(), enc == pb.Encoding_JSON_IETF)
		v := &pb.TypedValue{Value: &pb.TypedValue_JsonVal{JsonVal: b}}
		if enc == pb.Encoding_JSON_IETF {
			v = &pb.TypedValue{Value: &pb.TypedValue_JsonIetfVal{JsonIetfVal: b}}
		}
		out.Update[i] = &pb.Update{Path: u.Path, Val: v, Duplicates: u.Duplicates}
	}
	return out
}

func jsonScalar(v *pb.TypedValue, ietf bool) []byte {
	var b []byte
	switch x := v.GetValue().(type) {
	case *pb.TypedValue_UintVal:
		b = appendUint(b, x.UintVal, ietf)
	case *pb.TypedValue_IntVal:
		b = appendInt(b, x.IntVal, ietf)
	case *pb.TypedValue_StringVal:
		b = appendString(b, x.StringVal)
	case *pb.TypedValue_BoolVal:
		if x.BoolVal {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	case *pb.TypedValue_DoubleVal:
		b = append(b, formatFloat(x.DoubleVal)...)
	default:
		b = append(b, "null"...)
	}
	return b
}

// listKeys are the keys of the lists the target serves. The reference
// cache indexes a list entry by its key values, one tree level per key, so
// a path that omits a list's keys ("/interfaces/interface/state", which
// targets read as every interface) is completed with "*" keys.
var listKeys = map[string][]string{
	"interface": {"name"}, "component": {"name"}, "network-instance": {"name"},
	"protocol": {"identifier", "name"}, "neighbor": {"neighbor-address"}, "afi-safi": {"afi-safi-name"},
}

// completeKeys returns p with wildcard keys added to list elements that
// have none (p itself when nothing is missing).
func completeKeys(p *pb.Path) *pb.Path {
	missing := false
	for _, e := range p.GetElem() {
		if _, ok := listKeys[e.GetName()]; ok && len(e.GetKey()) == 0 {
			missing = true
		}
	}
	if !missing {
		return p
	}
	out := &pb.Path{Origin: p.GetOrigin(), Target: p.GetTarget(), Elem: make([]*pb.PathElem, len(p.GetElem()))}
	for i, e := range p.GetElem() {
		keys, ok := listKeys[e.GetName()]
		if !ok || len(e.GetKey()) > 0 {
			out.Elem[i] = e
			continue
		}
		ne := &pb.PathElem{Name: e.GetName(), Key: map[string]string{}}
		for _, k := range keys {
			ne.Key[k] = "*"
		}
		out.Elem[i] = ne
	}
	return out
}
