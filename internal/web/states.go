package web

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// stateLine is one resource's checks on one node, compact: a states answer
// for 10,000 devices is about a megabyte.
type stateLine struct {
	Key     string `json:"k"`
	Status  int    `json:"s"`
	Plugin  string `json:"p,omitempty"`
	Reason  string `json:"r,omitempty"`
	LastEnd int64  `json:"l,omitempty"` // Unix ms
	NextDue int64  `json:"n,omitempty"` // Unix ms
	Checks  int    `json:"c"`
}

type statesAnswer struct {
	Node   string      `json:"node"`
	States []stateLine `json:"states"`
	Error  string      `json:"error,omitempty"`
}

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func lineOf(key string, s checkstate.Summary) stateLine {
	return stateLine{Key: key, Status: s.Status, Plugin: s.Plugin, Reason: s.Reason,
		LastEnd: unixMs(s.LastEnd), NextDue: unixMs(s.NextDue), Checks: s.Checks}
}

// localStates answers a states request: this node's summary of each
// resource it has checks of (of keys only, when given).
func (w *Web) localStates(keys []string) statesAnswer {
	out := statesAnswer{Node: w.opts.NodeID, States: []stateLine{}}
	if w.opts.Checks == nil {
		return out
	}
	var want map[string]bool
	if keys != nil {
		want = make(map[string]bool, len(keys))
		for _, k := range keys {
			want[k] = true
		}
	}
	w.opts.Checks.Each(func(key string, s checkstate.Summary) {
		if want == nil || want[key] {
			out.States = append(out.States, lineOf(key, s))
		}
	})
	return out
}

// gathered is what the nodes said about the resources' checks.
type gathered struct {
	states  map[string]stateLine // by resource key; the latest when two nodes answer
	byNode  map[string]int       // resources each node reported
	missing []string             // nodes that did not answer in time
	errors  []string             // what answering nodes reported
}

// liveMembers returns the live members of the given sites (all when nil).
func (w *Web) liveMembers(sites map[string]bool) []cluster.Member {
	var out []cluster.Member
	for _, m := range w.opts.Membership.Members() {
		if sites == nil || sites[m.Site] {
			out = append(out, m)
		}
	}
	return out
}

// gatherStates asks the nodes of sites for the states of keys (nil: all
// they have).
func (w *Web) gatherStates(ctx context.Context, sites map[string]bool, keys []string) gathered {
	g := gathered{states: map[string]stateLine{}, byNode: map[string]int{}}
	members := w.liveMembers(sites)
	if len(members) == 0 {
		return g
	}
	var expect, siteList []string
	seen := map[string]bool{}
	for _, m := range members {
		expect = append(expect, m.ID)
		if !seen[m.Site] {
			seen[m.Site] = true
			siteList = append(siteList, m.Site)
		}
	}
	if w.opts.Conn == nil { // alone: only this node's own records
		g.merge(w.localStates(keys))
		return g
	}
	answers, missing, err := w.gather(ctx, opStates, siteList, request{Keys: keys}, expect)
	if err != nil {
		g.errors = append(g.errors, err.Error())
	}
	g.missing = missing
	for _, a := range answers {
		var sa statesAnswer
		if err := json.Unmarshal(a.Data, &sa); err != nil {
			g.errors = append(g.errors, a.Node+": "+err.Error())
			continue
		}
		if sa.Error != "" {
			g.errors = append(g.errors, a.Node+": "+sa.Error)
		}
		sa.Node = a.Node
		g.merge(sa)
	}
	return g
}

func (g *gathered) merge(sa statesAnswer) {
	g.byNode[sa.Node] += len(sa.States)
	for _, l := range sa.States {
		if old, ok := g.states[l.Key]; !ok || l.LastEnd > old.LastEnd {
			g.states[l.Key] = l
		}
	}
}

// owners computes each resource's owner: the rendezvous winner among the
// live pollers of its site, as every node computes it.
type owners struct {
	now     time.Time
	members []cluster.Member
	pollers map[string][]cluster.Member
}

func newOwners(members []cluster.Member) *owners {
	return &owners{now: time.Now(), members: members, pollers: map[string][]cluster.Member{}}
}

func (o *owners) of(r *resource.Resource) string {
	p, ok := o.pollers[r.Site]
	if !ok {
		p = cluster.Pollers(o.members, r.Site, o.now)
		o.pollers[r.Site] = p
	}
	return cluster.Owner(p, r.Key())
}

// sitesOf returns the sites of the resources.
func sitesOf(rs []*resource.Resource) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		out[r.Site] = true
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
