package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// localSummary answers a summary request: this node's self-metrics.
func (w *Web) localSummary() NodeSummary {
	s := w.history.summary()
	s.Node, s.Site, s.Version = w.opts.NodeID, w.opts.Site, w.opts.Version
	return s
}

// gatherSummaries asks every live node for its self-metrics.
func (w *Web) gatherSummaries(ctx context.Context) ([]NodeSummary, gathered) {
	var g gathered
	members := w.liveMembers(nil)
	if w.opts.Conn == nil {
		return []NodeSummary{w.localSummary()}, g
	}
	var expect, sites []string
	for _, m := range members {
		expect = append(expect, m.ID)
		if !slices.Contains(sites, m.Site) {
			sites = append(sites, m.Site)
		}
	}
	raw, missing, err := w.gather(ctx, opSummary, sites, request{}, expect)
	if err != nil {
		g.errors = append(g.errors, err.Error())
	}
	g.missing = missing
	var out []NodeSummary
	for _, a := range raw {
		var s NodeSummary
		if err := json.Unmarshal(a.Data, &s); err != nil {
			g.errors = append(g.errors, a.Node+": "+err.Error())
			continue
		}
		if s.Error != "" {
			g.errors = append(g.errors, a.Node+": "+s.Error)
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b NodeSummary) int { return compareStrings(a.Node, b.Node) })
	return out, g
}

// SiteCounts are one site's devices by state and its nodes.
type SiteCounts struct {
	Site     string `json:"site"`
	Devices  int    `json:"devices"`
	OK       int    `json:"ok"`
	Failing  int    `json:"failing"`
	Unknown  int    `json:"unknown"`
	Nodes    int    `json:"nodes"`
	Pollers  int    `json:"pollers"`
	Leader   string `json:"leader,omitempty"`
	Checking int    `json:"checks_scheduled"`
}

// PluginCounts are one plugin's checks over the nodes' windows.
type PluginCounts struct {
	Plugin   string             `json:"plugin"`
	Checks   float64            `json:"checks"`
	Failures float64            `json:"failures"`
	ByStatus map[string]float64 `json:"by_status"`
}

// Overview is GET /api/v1/overview.
type Overview struct {
	Generated time.Time `json:"generated"`
	Node      string    `json:"node"` // the node that answered
	Devices   int       `json:"devices"`
	// ByStatus counts devices by status name (unknown: no node reported it).
	ByStatus map[string]int `json:"by_status"`
	Sites    []SiteCounts   `json:"sites"`
	// Now sums the nodes' latest values (lateness: the worst node's).
	Now     map[string]float64 `json:"now"`
	Series  map[string][]Point `json:"series"` // summed over nodes per time step (lateness: max)
	Plugins []PluginCounts     `json:"plugins"`
	// Failing are the first failing devices, worst first.
	Failing []Device      `json:"failing"`
	Nodes   []NodeSummary `json:"nodes"`
	Peers   PeerReport    `json:"peers"`
}

// handleOverview serves GET /api/v1/overview.
func (w *Web) handleOverview(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	snap := w.opts.Inventory.Snapshot()
	members := w.opts.Membership.Members()
	own := newOwners(members)
	statesC := make(chan gathered, 1)
	go func() { statesC <- w.gatherStates(ctx, sitesOf(snap), nil) }()
	nodes, gs := w.gatherSummaries(ctx)
	g := <-statesC

	out := Overview{Generated: time.Now().UTC(), Node: w.opts.NodeID, Devices: len(snap), ByStatus: map[string]int{},
		Now: map[string]float64{}, Series: map[string][]Point{}, Failing: []Device{}, Nodes: nodes, Plugins: []PluginCounts{}}
	sites := map[string]*SiteCounts{}
	site := func(name string) *SiteCounts {
		s := sites[name]
		if s == nil {
			s = &SiteCounts{Site: name}
			sites[name] = s
		}
		return s
	}
	var failing []Device
	for _, res := range snap {
		d := deviceOf(res, own.of(res))
		applyState(&d, g.states)
		out.ByStatus[d.StatusName]++
		sc := site(res.Site)
		sc.Devices++
		switch {
		case d.Status == statusUnknown:
			sc.Unknown++
		case d.Status == metric.StatusSuccess:
			sc.OK++
		default:
			sc.Failing++
			failing = append(failing, d)
		}
	}
	now := time.Now()
	for _, m := range members {
		sc := site(m.Site)
		sc.Nodes++
		if m.Polls() && m.Alive(now) {
			sc.Pollers++
		}
	}
	if w.opts.Leaders != nil {
		if leaders, err := w.opts.Leaders(ctx); err == nil {
			for s, l := range leaders {
				site(s).Leader = l.ID
			}
		}
	}
	for _, n := range nodes {
		site(n.Site).Checking += int(n.Scheduled)
	}
	for _, name := range sortedKeys(sites) {
		out.Sites = append(out.Sites, *sites[name])
	}
	sortDevices(failing, "last_poll", true)
	out.Failing = append(out.Failing, failing[:min(len(failing), 10)]...)

	combine(&out, nodes, w.opts.SampleEvery.Milliseconds())
	g.errors = append(g.errors, gs.errors...)
	g.missing = mergeMissing(g.missing, gs.missing)
	out.Peers = g.report(len(members))
	writeJSON(rw, out)
}

// combine sums the nodes' latest values and series (lateness: the worst
// node), aligning points to the sampling step, and their plugin counts.
func combine(out *Overview, nodes []NodeSummary, step int64) {
	plugins := map[string]*PluginCounts{}
	for _, n := range nodes {
		for name, v := range n.Now {
			if name == SeriesLateness {
				out.Now[name] = max(out.Now[name], v)
			} else {
				out.Now[name] += v
			}
		}
		for p, st := range n.Plugins {
			pc := plugins[p]
			if pc == nil {
				pc = &PluginCounts{Plugin: p, ByStatus: map[string]float64{}}
				plugins[p] = pc
			}
			for status, v := range st {
				pc.ByStatus[status] += v
				pc.Checks += v
				if status != "success" {
					pc.Failures += v
				}
			}
		}
	}
	for _, name := range sortedKeys(plugins) {
		out.Plugins = append(out.Plugins, *plugins[name])
	}
	step = max(step, 1) // ms: points of different nodes within one step add up
	for _, name := range seriesNames {
		byT := map[int64]float64{}
		for _, n := range nodes {
			for _, p := range n.Series[name] {
				t := p.T / step * step
				if name == SeriesLateness {
					byT[t] = max(byT[t], p.V)
				} else {
					byT[t] += p.V
				}
			}
		}
		ts := make([]int64, 0, len(byT))
		for t := range byT {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		pts := make([]Point, len(ts))
		for i, t := range ts {
			pts[i] = Point{T: t, V: byT[t]}
		}
		out.Series[name] = pts
	}
}

func mergeMissing(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	slices.Sort(a)
	return a
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
