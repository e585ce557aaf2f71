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
// the request (prefix target, the default origin, and, for the target's
// atomic containers, query paths cut to the container: see RecvMsg), picks
// from each container the leaves the subscriptions name, and for STREAM
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
	leaves  map[leafKey]*leafState
	elemBuf []*pb.PathElem

	// sendMu serialises sends; none after the handler returned.
	sendMu sync.Mutex
	done   bool
}

var errStreamDone = status.Error(codes.Canceled, "stream ended")

// leafKey names a leaf by the target's interned prefix and relative path
// (see builder): two pointers, no string built per leaf.
type leafKey struct{ prefix, path *pb.Path }

// leafState is what the stream knows of a leaf: the subscription that
// names it (-1: none), whether it is a counter, and what was last sent.
type leafState struct {
	pattern int
	counter bool
	sent    bool
	at      int64 // the sent value's timestamp (ns)
	val     *pb.TypedValue
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
	s := &subStream{ServerStream: ss, t: t, ctx: ctx, cancel: cancel, leaves: map[leafKey]*leafState{}}
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
	s.sendMu.Lock()
	s.done = true
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
	if !s.t.perLeaf {
		containerQueries(l)
	}
	return nil
}

// containerQueries rewrites l's paths for the reference server when the
// cache holds atomic containers: it stores a container as one leaf at the
// container's path, so a query below it (an interface's state/counters)
// finds nothing; such a path is cut to its container, the same container
// asked twice is asked once, and the stream picks the leaves the original
// paths name (pattern).
func containerQueries(l *pb.SubscriptionList) {
	pre := l.GetPrefix().GetElem()
	l.Prefix = &pb.Path{Target: l.Prefix.GetTarget(), Origin: l.Prefix.GetOrigin()}
	seen := map[string]bool{}
	subs := l.Subscription[:0:0]
	for _, sub := range l.GetSubscription() {
		origin := sub.GetPath().GetOrigin()
		if origin == "" {
			origin = l.Prefix.GetOrigin()
		}
		elems := append(append([]*pb.PathElem(nil), pre...), sub.GetPath().GetElem()...)
		elems = elems[:containerDepth(origin, elems)]
		k := string(appendKey(nil, origin, elems))
		if seen[k] {
			continue
		}
		seen[k] = true
		c := &pb.Subscription{Path: &pb.Path{Origin: sub.GetPath().GetOrigin(), Elem: elems}, Mode: sub.GetMode(),
			SampleInterval: sub.GetSampleInterval(), HeartbeatInterval: sub.GetHeartbeatInterval(), SuppressRedundant: sub.GetSuppressRedundant()}
		subs = append(subs, c)
	}
	l.Subscription = subs
}

// containers are the element names of the target's atomic containers (the
// builder's prefixes), by origin.
var containers = map[string][][]string{
	"": {
		{"interfaces", "interface"},
		{"components", "component"},
		{"network-instances", "network-instance", "protocols", "protocol", "bgp", "neighbors", "neighbor", "state"},
		{"network-instances", "network-instance", "protocols", "protocol", "bgp", "neighbors", "neighbor", "afi-safis", "afi-safi", "state"},
		{"lldp", "interfaces", "interface", "neighbors", "neighbor"},
		{"system"},
	},
	"sim": {{"device"}},
}

// containerDepth is how many of elems a query keeps: all of them, or, when
// elems go below a container, the container's.
func containerDepth(origin string, elems []*pb.PathElem) int {
next:
	for _, c := range containers[origin] {
		if len(elems) <= len(c) {
			continue
		}
		for i, name := range c {
			if n := elems[i].GetName(); n != name && n != "*" {
				continue next
			}
		}
		return len(c)
	}
	return len(elems)
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
	if n == nil || len(n.GetUpdate()) == 0 {
		return s.send(m)
	}
	if n.GetAtomic() {
		// A container: the leaves the subscriptions name and, streaming,
		// whose mode has them due; sent as one notification (not atomic:
		// devices send a container's leaves together, not as a transaction).
		var ups []*pb.Update
		for _, u := range n.GetUpdate() {
			if s.pass(n, u, true) {
				if ups == nil {
					ups = make([]*pb.Update, 0, len(n.GetUpdate()))
				}
				ups = append(ups, u)
			}
		}
		if len(ups) == 0 {
			return nil
		}
		n = &pb.Notification{Timestamp: n.Timestamp, Prefix: n.Prefix, Update: ups}
		resp = &pb.SubscribeResponse{Response: &pb.SubscribeResponse_Update{Update: n}}
	} else if len(n.GetUpdate()) == 1 && !s.pass(n, n.GetUpdate()[0], false) {
		return nil
	}
	if s.enc != pb.Encoding_PROTO {
		n = encodeJSON(n, s.enc)
		resp = &pb.SubscribeResponse{Response: &pb.SubscribeResponse_Update{Update: n}}
	}
	return s.send(resp)
}

func (s *subStream) send(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.done {
		return errStreamDone
	}
	return s.ServerStream.SendMsg(m)
}

// pass decides whether the leaf u of n is sent, and records it. A leaf no
// subscription names is sent only when it came alone (the reference
// server matched it; a container holds leaves beside the named ones).
func (s *subStream) pass(n *pb.Notification, u *pb.Update, inContainer bool) bool {
	k := leafKey{n.GetPrefix(), u.GetPath()}
	st := s.leaves[k]
	if st == nil {
		st = &leafState{pattern: -1}
		s.elemBuf = append(append(s.elemBuf[:0], n.GetPrefix().GetElem()...), u.GetPath().GetElem()...)
		origin := n.GetPrefix().GetOrigin()
		for i := range s.subs {
			if s.subs[i].origin == origin && matches(s.subs[i].elems, s.elemBuf) {
				st.pattern = i
				break
			}
		}
		st.counter = isCounter(s.elemBuf)
		s.leaves[k] = st
	}
	if st.pattern < 0 {
		return !inContainer
	}
	if s.mode != pb.SubscriptionList_STREAM {
		return true
	}
	// Intervals count in the feeds' timestamps, not in when this stream
	// got to a leaf: a feed's leaves are sent over hundreds of
	// milliseconds on a loaded machine, and by the wall clock a leaf sent
	// late in one feed and early in the next was not due (so every other
	// sample of it was skipped).
	now := n.GetTimestamp()
	if now <= 0 {
		now = time.Now().UnixNano()
	}
	if s.synced && st.sent && !s.due(&s.subs[st.pattern], st, u.GetVal(), time.Duration(now-st.at)) {
		return false
	}
	st.sent, st.at, st.val = true, now, u.GetVal()
	return true
}

// due applies the subscription mode to a leaf last sent as prev, since
// before.
func (s *subStream) due(p *pattern, prev *leafState, v *pb.TypedValue, since time.Duration) bool {
	counter := prev.counter
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
