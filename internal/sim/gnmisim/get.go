package gnmisim

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/openconfig/gnmi/ctree"
	gpath "github.com/openconfig/gnmi/path"
	pb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/subscribe"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// service is the reference Subscribe server with Capabilities and Get on
// top, both read from the same cache.
type service struct {
	*subscribe.Server
	t *Target
}

// models are what the target's data follows.
var models = []*pb.ModelData{
	{Name: "openconfig-interfaces", Organization: "OpenConfig working group", Version: "3.7.1"},
	{Name: "openconfig-if-ethernet", Organization: "OpenConfig working group", Version: "2.14.0"},
	{Name: "openconfig-platform", Organization: "OpenConfig working group", Version: "0.30.0"},
	{Name: "openconfig-network-instance", Organization: "OpenConfig working group", Version: "4.4.1"},
	{Name: "openconfig-bgp", Organization: "OpenConfig working group", Version: "9.8.0"},
	{Name: "openconfig-lldp", Organization: "OpenConfig working group", Version: "0.2.1"},
	{Name: "openconfig-system", Organization: "OpenConfig working group", Version: "2.3.0"},
}

func (s *service) Capabilities(context.Context, *pb.CapabilityRequest) (*pb.CapabilityResponse, error) {
	return &pb.CapabilityResponse{
		SupportedModels:    models,
		SupportedEncodings: []pb.Encoding{pb.Encoding_JSON, pb.Encoding_JSON_IETF, pb.Encoding_PROTO},
		GNMIVersion:        "0.10.0",
	}, nil
}

// Get answers each path from the cache: with PROTO one notification per
// leaf; with JSON or JSON_IETF one update per path
// whose value is the subtree as a JSON tree (lists as arrays of objects
// holding their keys). A path with no data is NotFound.
func (s *service) Get(_ context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	enc := req.GetEncoding()
	switch enc {
	case pb.Encoding_JSON, pb.Encoding_JSON_IETF, pb.Encoding_PROTO:
	default:
		return nil, status.Errorf(codes.Unimplemented, "encoding %v is not supported: use JSON, JSON_IETF or PROTO", enc)
	}
	prefix := req.GetPrefix()
	if prefix.GetOrigin() == "openconfig" {
		prefix = &pb.Path{Target: prefix.GetTarget(), Elem: prefix.GetElem()}
	}
	prefix = completeKeys(prefix)
	resp := &pb.GetResponse{}
	for _, p := range req.GetPath() {
		if p.GetOrigin() == "openconfig" {
			p = &pb.Path{Elem: p.GetElem()}
		}
		p = completeKeys(p)
		if _, err := gpath.CompletePath(prefix, p); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		// The cache holds containers as single leaves: the query stops at
		// the container, and its leaves are picked by the path.
		origin := p.GetOrigin()
		if origin == "" {
			origin = prefix.GetOrigin()
		}
		want := append(append([]*pb.PathElem(nil), prefix.GetElem()...), p.GetElem()...)
		q := &pb.Path{Origin: p.GetOrigin(), Elem: want[:containerDepth(origin, want)]}
		full, err := gpath.CompletePath(&pb.Path{Origin: prefix.GetOrigin()}, q)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		var leaves []*pb.Notification
		var elems []*pb.PathElem
		err = s.t.cache.Query(s.t.Name, full, func(_ []string, _ *ctree.Leaf, v any) error {
			n, ok := v.(*pb.Notification)
			switch {
			case !ok:
			case n.GetAtomic():
				for _, u := range n.GetUpdate() {
					elems = append(append(elems[:0], n.GetPrefix().GetElem()...), u.GetPath().GetElem()...)
					if matches(want, elems) {
						leaves = append(leaves, &pb.Notification{Timestamp: n.GetTimestamp(), Prefix: n.GetPrefix(), Update: []*pb.Update{u}})
					}
				}
			case len(n.GetUpdate()) == 1:
				// A leaf kept alone (PerLeaf): the query stopped at its
				// container, so it too is picked by the path.
				elems = append(append(elems[:0], n.GetPrefix().GetElem()...), n.GetUpdate()[0].GetPath().GetElem()...)
				if matches(want, elems) {
					leaves = append(leaves, n)
				}
			}
			return nil
		})
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if len(leaves) == 0 {
			return nil, status.Errorf(codes.NotFound, "path %s: no data on target %s", textPath(p), s.t.Name)
		}
		if enc == pb.Encoding_PROTO {
			resp.Notification = append(resp.Notification, leaves...)
			continue
		}
		// One update per instance the path names: a wildcard path gives
		// one JSON tree per matching list entry.
		depth := len(prefix.GetElem()) + len(p.GetElem())
		roots := map[string]*jnode{}
		var order []string
		paths := map[string]*pb.Path{}
		stamps := map[string]int64{}
		for _, n := range leaves {
			elems := append(append([]*pb.PathElem(nil), n.GetPrefix().GetElem()...), n.GetUpdate()[0].GetPath().GetElem()...)
			if depth > len(elems) {
				continue
			}
			at := &pb.Path{Origin: p.GetOrigin(), Elem: elems[len(prefix.GetElem()):depth]}
			id := textPath(at)
			root, ok := roots[id]
			if !ok {
				root = &jnode{}
				roots[id], paths[id] = root, at
				order = append(order, id)
			}
			root.insert(elems[depth:], n.GetUpdate()[0].GetVal())
			stamps[id] = max(stamps[id], n.GetTimestamp())
		}
		ietf := enc == pb.Encoding_JSON_IETF
		for _, id := range order {
			root := roots[id]
			var b []byte
			if root.val != nil && len(root.kids) == 0 { // the path is a leaf
				b = jsonScalar(root.val, ietf)
			} else {
				b = root.appendObject(nil, ietf, depth == 0)
			}
			v := &pb.TypedValue{Value: &pb.TypedValue_JsonVal{JsonVal: b}}
			if ietf {
				v = &pb.TypedValue{Value: &pb.TypedValue_JsonIetfVal{JsonIetfVal: b}}
			}
			resp.Notification = append(resp.Notification, &pb.Notification{Timestamp: stamps[id],
				Prefix: req.GetPrefix(), Update: []*pb.Update{{Path: paths[id], Val: v}}})
		}
	}
	return resp, nil
}

func textPath(p *pb.Path) string {
	var b strings.Builder
	if p.GetOrigin() != "" {
		b.WriteString(p.GetOrigin() + ":")
	}
	for _, e := range p.GetElem() {
		b.WriteString("/" + e.GetName())
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString("[" + k + "=" + e.GetKey()[k] + "]")
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// jnode is a JSON tree under construction: a container (kids), a list
// (entries by key) or a leaf (val).
type jnode struct {
	val     *pb.TypedValue
	kids    map[string]*jnode
	order   []string
	list    bool
	keys    map[string]string // a list entry's keys
	entries map[string]*jnode
	eorder  []string
}

func (n *jnode) kid(name string) *jnode {
	if n.kids == nil {
		n.kids = map[string]*jnode{}
	}
	k, ok := n.kids[name]
	if !ok {
		k = &jnode{}
		n.kids[name] = k
		n.order = append(n.order, name)
	}
	return k
}

// insert places a leaf's value at rel, the elements below the requested
// path. A keyed element is a list entry; the requested path's own keyed
// elements are not repeated.
func (n *jnode) insert(rel []*pb.PathElem, v *pb.TypedValue) {
	cur := n
	for _, e := range rel {
		k := cur.kid(e.GetName())
		if len(e.GetKey()) > 0 {
			k.list = true
			id := textPath(&pb.Path{Elem: []*pb.PathElem{e}})
			if k.entries == nil {
				k.entries = map[string]*jnode{}
			}
			ent, ok := k.entries[id]
			if !ok {
				ent = &jnode{keys: e.GetKey()}
				k.entries[id] = ent
				k.eorder = append(k.eorder, id)
			}
			cur = ent
			continue
		}
		cur = k
	}
	cur.val = v
}

// modules qualify top-level names and augmentations in JSON_IETF.
var modules = map[string]string{
	"interfaces": "openconfig-interfaces", "components": "openconfig-platform",
	"network-instances": "openconfig-network-instance", "lldp": "openconfig-lldp", "system": "openconfig-system",
	"ethernet": "openconfig-if-ethernet",
}

func (n *jnode) appendObject(b []byte, ietf, top bool) []byte {
	b = append(b, '{')
	first := true
	// a list entry's keys, unless a child leaf of the same name carries them
	keys := make([]string, 0, len(n.keys))
	for k := range n.keys {
		if _, ok := n.kids[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, n.keys[k])
	}
	for _, name := range n.order {
		k := n.kids[name]
		if !first {
			b = append(b, ',')
		}
		first = false
		member := name
		if m, ok := modules[name]; ok && ietf && (top || name == "ethernet") {
			member = m + ":" + name
		}
		b = appendString(b, member)
		b = append(b, ':')
		switch {
		case k.list:
			b = append(b, '[')
			for i, id := range k.eorder {
				if i > 0 {
					b = append(b, ',')
				}
				b = k.entries[id].appendObject(b, ietf, false)
			}
			b = append(b, ']')
		case len(k.kids) > 0:
			b = k.appendObject(b, ietf, false)
		default:
			b = append(b, jsonScalar(k.val, ietf)...)
		}
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	j, _ := json.Marshal(s)
	return append(b, j...)
}

// appendUint writes v, quoted when ietf (RFC 7951 encodes 64-bit integers
// as strings).
func appendUint(b []byte, v uint64, ietf bool) []byte {
	if ietf {
		b = append(b, '"')
	}
	b = strconv.AppendUint(b, v, 10)
	if ietf {
		b = append(b, '"')
	}
	return b
}

func appendInt(b []byte, v int64, ietf bool) []byte {
	if ietf {
		b = append(b, '"')
	}
	b = strconv.AppendInt(b, v, 10)
	if ietf {
		b = append(b, '"')
	}
	return b
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
