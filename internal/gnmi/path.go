// Package gnmi is Panoptes' gNMI client (dial-in over gRPC): Capabilities,
// Get, and Subscribe in ONCE, POLL and STREAM mode (SAMPLE, ON_CHANGE,
// TARGET_DEFINED) with the generated stubs of github.com/openconfig/gnmi;
// TLS, mutual TLS and username/password metadata; errors mapped to
// Panoptes' polling statuses; and a long-lived subscription that reconnects
// with jittered backoff, treats a stream silent past its heartbeat as down
// and buffers what it receives in a bounded queue that drops the oldest.
//
// Turning notifications into metrics groups is package gnmi/mapping's job.
package gnmi

import (
	"fmt"
	"sort"
	"strings"

	pb "github.com/openconfig/gnmi/proto/gnmi"
)

// ParsePath reads a path in the gNMI path conventions' text form:
// "/interfaces/interface[name=Ethernet1]/state/counters", optionally with an
// origin before a colon ("openconfig:/interfaces", "eos_native:/Kernel").
// Keys are [name=value]; a value may hold "/" and "]" escaped with "\".
// "*" is a wildcard element or key value and "..." any number of elements,
// as the target interprets them.
func ParsePath(s string) (*pb.Path, error) {
	p := &pb.Path{}
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ":/"); i > 0 && !strings.ContainsAny(s[:i], "/[") {
		p.Origin, s = s[:i], s[i+1:]
	}
	if s == "" || s == "/" {
		return p, nil
	}
	s = strings.TrimPrefix(s, "/")
	for len(s) > 0 {
		name, rest, err := pathElemName(s)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", s, err)
		}
		e := &pb.PathElem{Name: name}
		s = rest
		for strings.HasPrefix(s, "[") {
			k, v, rest, err := pathKey(s[1:])
			if err != nil {
				return nil, fmt.Errorf("path element %q: %w", name, err)
			}
			if e.Key == nil {
				e.Key = map[string]string{}
			}
			if _, dup := e.Key[k]; dup {
				return nil, fmt.Errorf("path element %q: key %q given twice", name, k)
			}
			e.Key[k] = v
			s = rest
		}
		p.Elem = append(p.Elem, e)
		switch {
		case s == "":
		case s[0] == '/':
			s = s[1:]
			if s == "" {
				return p, nil // a trailing slash
			}
		default:
			return nil, fmt.Errorf("path element %q: unexpected %q", name, s)
		}
	}
	return p, nil
}

func pathElemName(s string) (name, rest string, err error) {
	i := strings.IndexAny(s, "/[")
	if i < 0 {
		i = len(s)
	}
	name = s[:i]
	if name == "" {
		return "", "", fmt.Errorf("empty element name")
	}
	return name, s[i:], nil
}

// pathKey reads "name=value]" (the "[" already consumed).
func pathKey(s string) (k, v, rest string, err error) {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return "", "", "", fmt.Errorf("key %q: want [name=value]", s)
	}
	k = s[:eq]
	var b strings.Builder
	for i := eq + 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ']':
			return k, b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", "", fmt.Errorf("key %q: no closing ]", k)
}

// FormatPath writes p in the text form ParsePath reads, keys sorted.
func FormatPath(p *pb.Path) string {
	var b strings.Builder
	if p.GetOrigin() != "" {
		b.WriteString(p.GetOrigin())
		b.WriteByte(':')
	}
	appendElems(&b, p.GetElem())
	if b.Len() == 0 || b.String() == p.GetOrigin()+":" {
		b.WriteByte('/')
	}
	return b.String()
}

// Join formats prefix and path as one path (the prefix's origin and
// target are ignored where path has its own origin).
func Join(prefix, path *pb.Path) string {
	var b strings.Builder
	origin := path.GetOrigin()
	if origin == "" {
		origin = prefix.GetOrigin()
	}
	if origin != "" {
		b.WriteString(origin)
		b.WriteByte(':')
	}
	appendElems(&b, prefix.GetElem())
	appendElems(&b, path.GetElem())
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func appendElems(b *strings.Builder, elems []*pb.PathElem) {
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(e.GetName())
		if len(e.GetKey()) == 0 {
			continue
		}
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteByte('[')
			b.WriteString(k)
			b.WriteByte('=')
			v := e.GetKey()[k]
			v = strings.ReplaceAll(v, `\`, `\\`)
			v = strings.ReplaceAll(v, "]", `\]`)
			b.WriteString(v)
			b.WriteByte(']')
		}
	}
}
