package topology

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Handler serves the graph:
//
//	GET /api/v1/topology                      the whole graph (JSON); ?site=S keeps one site
//	GET /api/v1/topology/devices/{id}         one device: its links, candidates seen from it, problems (?site=S when ids repeat across sites)
//	GET /api/v1/topology.dot                  the graph in Graphviz DOT (?site=S)
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/topology", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.Graph().Site(r.URL.Query().Get("site")))
	})
	mux.HandleFunc("GET /api/v1/topology/devices/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, err := a.Graph().Device(r.URL.Query().Get("site"), r.PathValue("id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		writeJSON(w, v)
	})
	mux.HandleFunc("GET /api/v1/topology.dot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		_ = a.Graph().Site(r.URL.Query().Get("site")).WriteDOT(w)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Site is the part of g about one site ("": all of it).
func (g *Graph) Site(site string) *Graph {
	if site == "" {
		return g
	}
	out := &Graph{Built: g.Built, Devices: []Device{}, Links: []Link{}, Candidates: []Candidate{}, Problems: []Problem{}}
	for _, d := range g.Devices {
		if d.Site == site {
			out.Devices = append(out.Devices, d)
		}
	}
	for _, l := range g.Links {
		if l.A.Site == site || l.B.Site == site {
			out.Links = append(out.Links, l)
		}
	}
	for _, c := range g.Candidates {
		for _, e := range c.SeenFrom {
			if e.Site == site {
				out.Candidates = append(out.Candidates, c)
				break
			}
		}
	}
	for _, p := range g.Problems {
		if p.Site == site || p.Site == "" {
			out.Problems = append(out.Problems, p)
		}
	}
	return out
}

// DeviceView is one device's part of the graph.
type DeviceView struct {
	Device     Device      `json:"device"`
	Links      []Link      `json:"links"`
	Candidates []Candidate `json:"candidates"`
	Problems   []Problem   `json:"problems"`
}

// Device is the view of the device with resource id (in site, when
// given); an error when there is none or the id is ambiguous.
func (g *Graph) Device(site, id string) (*DeviceView, error) {
	var found []Device
	for _, d := range g.Devices {
		if d.ID == id && (site == "" || d.Site == site) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no device %q in the topology", id)
	case 1:
	default:
		var sites []string
		for _, d := range found {
			sites = append(sites, d.Site)
		}
		return nil, fmt.Errorf("device %q is in several sites (%s): add ?site=", id, strings.Join(sites, ", "))
	}
	d := found[0]
	v := &DeviceView{Device: d, Links: []Link{}, Candidates: []Candidate{}, Problems: []Problem{}}
	for _, l := range g.Links {
		if l.A.key == d.Key || l.B.key == d.Key {
			v.Links = append(v.Links, l)
		}
	}
	for _, c := range g.Candidates {
		for _, e := range c.SeenFrom {
			if e.key == d.Key {
				v.Candidates = append(v.Candidates, c)
				break
			}
		}
	}
	for _, p := range g.Problems {
		if p.Device == d.ID && p.Site == d.Site {
			v.Problems = append(v.Problems, p)
		}
	}
	return v, nil
}

// WriteDOT writes g as an undirected Graphviz graph: a node per device, an
// edge per link labelled with its ports (dashed when only one end reports
// it), discovery candidates as dashed grey nodes.
func (g *Graph) WriteDOT(w io.Writer) error {
	var b strings.Builder
	b.WriteString("graph topology {\n  node [shape=box];\n")
	node := func(site, id string) string { return dotQuote(site + "/" + id) }
	for _, d := range g.Devices {
		fmt.Fprintf(&b, "  %s [label=%s];\n", node(d.Site, d.ID), dotQuote(d.ID))
	}
	for _, l := range g.Links {
		style := ""
		if l.AView == nil || l.BView == nil {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -- %s [taillabel=%s, headlabel=%s%s];\n", node(l.A.Site, l.A.Device), node(l.B.Site, l.B.Device),
			dotQuote(l.A.Port), dotQuote(l.B.Port), style)
	}
	cands := append([]Candidate(nil), g.Candidates...)
	sort.Slice(cands, func(i, j int) bool { return cands[i].Name+cands[i].ChassisID < cands[j].Name+cands[j].ChassisID })
	for i, c := range cands {
		id := dotQuote(fmt.Sprintf("candidate %d", i+1))
		label := c.Name
		if label == "" {
			label = c.ChassisID
		}
		fmt.Fprintf(&b, "  %s [label=%s, style=dashed, color=grey];\n", id, dotQuote(label))
		for _, e := range c.SeenFrom {
			fmt.Fprintf(&b, "  %s -- %s [taillabel=%s, style=dashed, color=grey];\n", node(e.Site, e.Device), id, dotQuote(e.Port))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// dotQuote is s as a DOT string.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
