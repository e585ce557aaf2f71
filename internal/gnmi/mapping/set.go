package mapping

import (
	"fmt"
	"slices"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
)

// Set is compiled mappings, indexed by path for the notifications of any
// number of targets (each has its own State).
type Set struct {
	groups []*Group
	roots  map[string]*node // by origin ("" is openconfig)
}

// node is one path element of the index: its children by name, the groups
// whose rows are here, and the leaves that end here.
type node struct {
	kids   map[string]*node
	rows   []int     // group indexes whose Path ends here
	leaves []leafRef // leaves ending here
	// below: groups that have a row or leaf at or under this node
	below []int
	depth int
}

type leafRef struct {
	group, leaf int
}

// NewSet indexes mappings. Two groups may share rows (components give cpu,
// memory and environment) and leaves.
func NewSet(maps ...*Mapping) *Set {
	s := &Set{roots: map[string]*node{}}
	for _, m := range maps {
		s.groups = append(s.groups, m.Groups...)
	}
	for gi, g := range s.groups {
		root := s.roots[g.Origin]
		if root == nil {
			root = &node{}
			s.roots[g.Origin] = root
		}
		n := root
		n.addBelow(gi)
		for _, e := range g.Path {
			n = n.kid(e.GetName())
			n.addBelow(gi)
		}
		n.rows = append(n.rows, gi)
		for li, l := range g.Leaves {
			ln := n
			for _, e := range l.Path {
				ln = ln.kid(e.GetName())
				ln.addBelow(gi)
			}
			ln.leaves = append(ln.leaves, leafRef{group: gi, leaf: li})
		}
	}
	return s
}

func (n *node) kid(name string) *node {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	k, ok := n.kids[name]
	if !ok {
		k = &node{depth: n.depth + 1}
		n.kids[name] = k
	}
	return k
}

func (n *node) addBelow(g int) {
	if !slices.Contains(n.below, g) {
		n.below = append(n.below, g)
	}
}

// Groups lists the set's groups.
func (s *Set) Groups() []*Group { return s.groups }

// Select returns the set of the groups keep accepts.
func (s *Set) Select(keep func(*Group) bool) *Set {
	byMapping := map[*Mapping]*Mapping{}
	var order []*Mapping
	for _, g := range s.groups {
		if !keep(g) {
			continue
		}
		m := byMapping[g.mapping]
		if m == nil {
			m = &Mapping{Name: g.mapping.Name, Description: g.mapping.Description, File: g.mapping.File, ResourceTypes: g.mapping.ResourceTypes}
			byMapping[g.mapping] = m
			order = append(order, m)
		}
		m.Groups = append(m.Groups, g)
	}
	return NewSet(order...)
}

// Subscriptions are the paths the set's groups subscribe to, each
// sampled at interval unless its mapping says otherwise. Identical paths
// are asked once.
func (s *Set) Subscriptions(interval time.Duration) []gnmi.Subscription {
	var out []gnmi.Subscription
	seen := map[string]bool{}
	for _, g := range s.groups {
		for _, sub := range g.Subs {
			full := &pb.Path{Origin: g.Origin, Elem: slices.Clone(g.Path)}
			if sub.Path != "" {
				rp, _ := gnmi.ParsePath(sub.Path)
				full.Elem = append(full.Elem, rp.GetElem()...)
			}
			p := gnmi.FormatPath(full)
			if seen[p] {
				continue
			}
			seen[p] = true
			si := sub.SampleInterval
			if si == 0 && sub.Mode != gnmi.OnChange {
				si = interval
			}
			out = append(out, gnmi.Subscription{Path: p, Mode: sub.Mode, SampleInterval: si,
				HeartbeatInterval: sub.HeartbeatInterval, SuppressRedundant: sub.SuppressRedundant})
		}
	}
	return out
}

// Paths are the group's paths, for messages.
func (g *Group) String() string {
	return fmt.Sprintf("%s (%s, %s:%d)", g.Type, g.PathText, g.mapping.File, g.line)
}

// Mapping returns the mapping the group belongs to.
func (g *Group) Mapping() *Mapping { return g.mapping }
