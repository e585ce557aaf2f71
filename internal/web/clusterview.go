package web

import (
	"net/http"
	"time"

	"github.com/panoptes-go/panoptes/internal/cluster"
)

// MemberView is one node of the cluster.
type MemberView struct {
	ID        string     `json:"id"`
	Site      string     `json:"site"`
	Roles     []string   `json:"roles"`
	Capacity  int        `json:"capacity"`
	Version   string     `json:"version"`
	Started   time.Time  `json:"started"`
	Heartbeat float64    `json:"heartbeat_age_seconds"`
	Draining  bool       `json:"draining"`
	DrainAt   *time.Time `json:"drain_at,omitempty"`
	// JoinAt is when a node joining live pollers takes its share (shown
	// only until then).
	JoinAt *time.Time `json:"join_at,omitempty"`
	Leader bool       `json:"leader"`
	Self   bool       `json:"self"`
	// Owns is how many inventory resources it owns (the rendezvous
	// winner among its site's pollers); Checks how many checks it runs.
	Owns             int     `json:"owns"`
	Checks           float64 `json:"checks_scheduled"`
	OwnershipChanges float64 `json:"ownership_changes"`
	LeaderChanges    float64 `json:"leader_changes"`
	Answered         bool    `json:"answered"`
}

// SiteView is one site of the cluster.
type SiteView struct {
	Site        string     `json:"site"`
	Leader      string     `json:"leader"`
	LeaderSince *time.Time `json:"leader_since,omitempty"`
	Members     int        `json:"members"`
	Pollers     int        `json:"pollers"`
	Devices     int        `json:"devices"`
	Unowned     int        `json:"unowned"` // devices of a site with no live poller
}

// ClusterView is GET /api/v1/cluster.
type ClusterView struct {
	Self    string       `json:"self"`
	Members []MemberView `json:"members"`
	Sites   []SiteView   `json:"sites"`
	// Handovers are the members handing their resources over now, or
	// joining and about to take their share.
	Handovers []MemberView `json:"handovers"`
	Peers     PeerReport   `json:"peers"`
}

// handleCluster serves GET /api/v1/cluster.
func (w *Web) handleCluster(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	members := w.opts.Membership.Members()
	now := time.Now()
	leaders := map[string]cluster.Leader{}
	if w.opts.Leaders != nil {
		if l, err := w.opts.Leaders(ctx); err == nil {
			leaders = l
		}
	}
	nodes, g := w.gatherSummaries(ctx)
	byNode := map[string]NodeSummary{}
	for _, n := range nodes {
		byNode[n.Node] = n
	}
	own := newOwners(members)
	owns := map[string]int{}
	sites := map[string]*SiteView{}
	site := func(name string) *SiteView {
		s := sites[name]
		if s == nil {
			s = &SiteView{Site: name}
			sites[name] = s
		}
		return s
	}
	for _, res := range w.opts.Inventory.Snapshot() {
		sv := site(res.Site)
		sv.Devices++
		if o := own.of(res); o != "" {
			owns[o]++
		} else {
			sv.Unowned++
		}
	}
	out := ClusterView{Self: w.opts.NodeID, Members: []MemberView{}, Handovers: []MemberView{}, Sites: []SiteView{}}
	for _, m := range members {
		mv := MemberView{ID: m.ID, Site: m.Site, Roles: m.Roles, Capacity: m.Capacity, Version: m.Version, Started: m.Started,
			Heartbeat: now.Sub(m.Seen).Seconds(), Draining: m.Draining, Leader: leaders[m.Site].ID == m.ID,
			Self: m.ID == w.opts.NodeID, Owns: owns[m.ID]}
		if m.Seen.IsZero() {
			mv.Heartbeat = 0
		}
		if !m.DrainAt.IsZero() {
			t := m.DrainAt
			mv.DrainAt = &t
		}
		if m.JoinAt.After(now) {
			t := m.JoinAt
			mv.JoinAt = &t
		}
		if n, ok := byNode[m.ID]; ok {
			mv.Answered, mv.Checks, mv.OwnershipChanges, mv.LeaderChanges = true, n.Scheduled, n.OwnershipChanges, n.LeaderChanges
		}
		out.Members = append(out.Members, mv)
		if m.Draining || mv.JoinAt != nil {
			out.Handovers = append(out.Handovers, mv)
		}
		sv := site(m.Site)
		sv.Members++
		if m.Polls() {
			sv.Pollers++
		}
	}
	for s, l := range leaders {
		sv := site(s)
		sv.Leader = l.ID
		if !l.Since.IsZero() {
			t := l.Since
			sv.LeaderSince = &t
		}
	}
	for _, name := range sortedKeys(sites) {
		out.Sites = append(out.Sites, *sites[name])
	}
	out.Peers = g.report(len(members))
	writeJSON(rw, out)
}
