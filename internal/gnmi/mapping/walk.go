package mapping

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
)

// walker follows one update's path (prefix + path, then into a JSON tree)
// down the index, finding rows as it passes their elements and storing
// values at leaves.
type walker struct {
	s      *State
	stack  []*pb.PathElem
	active []activeRow
	ts     int64
	leaves int   // values stored by the current notification
	err    error // the update's value could not be used
}

type activeRow struct {
	depth int // stack length at the row's element
	group int
	r     *row
}

// update stores v at prefix+path; it returns the number of values stored.
func (w *walker) update(root *node, ts int64, prefix, path []*pb.PathElem, v *pb.TypedValue) int {
	w.ts = ts
	w.stack, w.active = w.stack[:0], w.active[:0]
	before := w.leaves
	n := root
	for _, e := range [2][]*pb.PathElem{prefix, path} {
		for _, pe := range e {
			if n = w.enter(n, pe); n == nil {
				return 0
			}
		}
	}
	if u, ok := v.GetValue().(*pb.TypedValue_UintVal); ok { // the common case, without boxing
		w.leafUint(n, u.UintVal)
		return w.leaves - before
	}
	if j := gnmi.JSONBytes(v); j != nil {
		if len(j) > MaxValueBytes {
			w.err = errTooLarge
			return 0
		}
		tree, err := gnmi.DecodeJSON(j)
		if err != nil {
			w.err = err
			return 0
		}
		w.json(n, tree)
		return w.leaves - before
	}
	sv, err := gnmi.Scalar(v)
	if err != nil {
		w.err = err
		return 0
	}
	switch x := sv.(type) {
	case string:
		if len(x) > MaxValueBytes {
			w.err = errTooLarge
			return 0
		}
	case []byte:
		if len(x) > MaxValueBytes {
			w.err = errTooLarge
			return 0
		}
		sv = string(x)
	}
	w.leaf(n, sv)
	return w.leaves - before
}

// enter moves from n to its child for e, noting rows found there; nil when
// no mapping reads anything below.
func (w *walker) enter(n *node, e *pb.PathElem) *node {
	k := n.kids[e.GetName()]
	if k == nil {
		return nil
	}
	w.stack = append(w.stack, e)
	for _, gi := range k.rows {
		if r, ok := w.s.rowFor(gi, w.stack); ok {
			w.active = append(w.active, activeRow{depth: len(w.stack), group: gi, r: r})
		}
	}
	return k
}

// leave pops the last element (and the rows found at it).
func (w *walker) leave() {
	w.stack = w.stack[:len(w.stack)-1]
	for len(w.active) > 0 && w.active[len(w.active)-1].depth > len(w.stack) {
		w.active = w.active[:len(w.active)-1]
	}
}

// leafUint stores an unsigned integer (a counter) like leaf.
func (w *walker) leafUint(n *node, u uint64) {
	w.store(n, leafVal{u: u, isU: true, ts: w.ts, ok: true})
}

// leaf stores v for every leaf ending at n whose group's row is active.
func (w *walker) leaf(n *node, v any) { w.store(n, leafVal{v: v, ts: w.ts, ok: true}) }

func (w *walker) store(n *node, val leafVal) {
	for _, lr := range n.leaves {
		for i := len(w.active) - 1; i >= 0; i-- {
			a := &w.active[i]
			if a.group != lr.group {
				continue
			}
			l := &w.s.set.groups[lr.group].Leaves[lr.leaf]
			if !w.keysMatch(l, a.depth) {
				break
			}
			if l.Multi {
				if a.r.multi == nil {
					a.r.multi = make([]map[string]leafVal, len(a.r.vals))
				}
				if a.r.multi[lr.leaf] == nil {
					a.r.multi[lr.leaf] = map[string]leafVal{}
				}
				a.r.multi[lr.leaf][subKey(w.stack[a.depth:])] = val
			} else {
				a.r.vals[lr.leaf] = val
			}
			a.r.dirty = true
			a.r.got |= leafBit(lr.leaf)
			w.s.groups[lr.group].touched = true
			w.leaves++
			break
		}
	}
}

// keysMatch checks the fixed keys of a leaf's path below its row.
func (w *walker) keysMatch(l *Leaf, rowDepth int) bool {
	below := w.stack[rowDepth:]
	if len(below) != len(l.Path) {
		return false
	}
	for i, pe := range l.Path {
		for k, want := range pe.GetKey() {
			if want != "*" && below[i].GetKey()[k] != want {
				return false
			}
		}
	}
	return true
}

func subKey(elems []*pb.PathElem) string {
	var b strings.Builder
	for _, e := range elems {
		if len(e.GetKey()) > 0 {
			b.WriteString(keyText(e))
			b.WriteByte(0)
		}
	}
	return b.String()
}

// numericText is what JSON encodings send for numbers as text: RFC 7951's
// 64-bit integers and decimal64 values.
var numericText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// json walks a decoded JSON tree from n. Member names lose their module
// prefix ("openconfig-interfaces:interface"); an array is a list whose
// entries carry their keys, the key names being those of the mappings'
// paths at that element.
func (w *walker) json(n *node, v any) {
	switch x := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names) // deterministic: rows are found in the same order
		for _, name := range names {
			local := name
			if i := strings.LastIndexByte(local, ':'); i >= 0 {
				local = local[i+1:]
			}
			child := x[name]
			if arr, ok := child.([]any); ok && w.listKeys(n, local) != nil {
				keys := w.listKeys(n, local)
				for _, ent := range arr {
					obj, ok := ent.(map[string]any)
					if !ok {
						continue
					}
					e := &pb.PathElem{Name: local, Key: map[string]string{}}
					for _, k := range keys {
						if kv, ok := obj[k]; ok {
							e.Key[k] = fmt.Sprint(kv)
						}
					}
					if k := w.enter(n, e); k != nil {
						w.json(k, obj)
						w.leave()
					}
				}
				continue
			}
			if k := w.enter(n, &pb.PathElem{Name: local}); k != nil {
				w.json(k, child)
				w.leave()
			}
		}
	case []any: // a leaf-list
		w.leaf(n, x)
	case string:
		if numericText.MatchString(x) {
			w.leaf(n, gnmi.Number(x))
			return
		}
		w.leaf(n, x)
	default:
		w.leaf(n, x)
	}
}

// listKeys are the key names the groups' paths give element name under n
// (nil: not a list any mapping keys).
func (w *walker) listKeys(n *node, name string) []string {
	if n.kids[name] == nil {
		return nil
	}
	depth := len(w.stack)
	var keys []string
	for _, gi := range n.kids[name].below {
		g := w.s.set.groups[gi]
		if depth < len(g.Path) {
			for k := range g.Path[depth].GetKey() {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			continue
		}
		for _, l := range g.Leaves {
			if i := depth - len(g.Path); i < len(l.Path) && l.Path[i].GetName() == name {
				for k := range l.Path[i].GetKey() {
					if !slices.Contains(keys, k) {
						keys = append(keys, k)
					}
				}
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// delete removes what prefix+path names: rows at or below it, or, below a
// row, the leaves under it.
func (w *walker) delete(origin string, prefix, path []*pb.PathElem) {
	if origin == "openconfig" {
		origin = ""
	}
	n := w.s.set.roots[origin]
	if n == nil {
		return
	}
	elems := append(append(make([]*pb.PathElem, 0, len(prefix)+len(path)), prefix...), path...)
	for _, e := range elems {
		if n = n.kids[e.GetName()]; n == nil {
			return
		}
	}
	for _, gi := range n.below {
		g := w.s.set.groups[gi]
		rows := w.s.groups[gi].rows
		if len(elems) <= len(g.Path) {
			for k, r := range rows {
				if w.rowUnder(g, r, elems) {
					delete(rows, k)
				}
			}
			continue
		}
		r, ok := w.s.rowFor(gi, elems)
		if !ok {
			continue
		}
		rel := elems[len(g.Path):]
		for li, l := range g.Leaves {
			if len(l.Path) >= len(rel) && namesPrefix(l.Path, rel) {
				r.vals[li] = leafVal{}
				if r.multi != nil {
					r.multi[li] = nil
				}
				r.dirty = true
				r.got |= leafBit(li)
				w.s.groups[gi].touched = true
			}
		}
		if len(r.keys) > 0 && allEmpty(r) {
			delete(rows, r.key)
		}
	}
}

// rowUnder reports whether r's keys agree with the keys elems gives.
func (w *walker) rowUnder(g *Group, r *row, elems []*pb.PathElem) bool {
	for i, e := range elems {
		for k, v := range e.GetKey() {
			if v == "*" {
				continue
			}
			if want, ok := g.Path[i].GetKey()[k]; ok && want == "*" && r.keys[k] != v {
				return false
			}
		}
	}
	return true
}

func namesPrefix(l, prefix []*pb.PathElem) bool {
	for i, e := range prefix {
		if l[i].GetName() != e.GetName() {
			return false
		}
	}
	return true
}

func allEmpty(r *row) bool {
	for _, v := range r.vals {
		if v.ok {
			return false
		}
	}
	for _, m := range r.multi {
		if len(m) > 0 {
			return false
		}
	}
	return true
}
