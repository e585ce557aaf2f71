package topology

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// Graph is the link graph at one moment.
type Graph struct {
	Built      float64     `json:"built"`
	Devices    []Device    `json:"devices"`
	Links      []Link      `json:"links"`
	Candidates []Candidate `json:"candidates"`
	Problems   []Problem   `json:"problems"`
}

// Device is a resource of the inventory or of the neighbour polls.
type Device struct {
	Site       string  `json:"site"`
	ID         string  `json:"resource_id"`
	Key        string  `json:"-"`
	SystemName string  `json:"system_name,omitempty"`
	ChassisID  string  `json:"chassis_id,omitempty"`
	Polled     float64 `json:"polled,omitempty"` // its latest neighbour poll; 0: none
	res        *resource.Resource
}

// End is one end of a link: a device and its local port.
type End struct {
	Site   string `json:"site"`
	Device string `json:"resource_id"`
	Port   string `json:"port"`
	key    string
}

// View is what one end reports of a link.
type View struct {
	RemotePort string  `json:"remote_port"`
	Protocol   string  `json:"protocol,omitempty"`
	FirstSeen  float64 `json:"first_seen"`
	LastSeen   float64 `json:"last_seen"`
}

// Link is a cable between two devices' ports, with each end's view (nil
// when that end does not report it: not polled, or not running LLDP).
type Link struct {
	ID        string  `json:"id"`
	A         End     `json:"a"`
	B         End     `json:"b"`
	AView     *View   `json:"a_view,omitempty"`
	BView     *View   `json:"b_view,omitempty"`
	FirstSeen float64 `json:"first_seen"`
	LastSeen  float64 `json:"last_seen"`
}

// Candidate is a neighbour no inventory resource matches: a device to add
// to discovery.
type Candidate struct {
	Name          string  `json:"name,omitempty"`
	ChassisID     string  `json:"chassis_id,omitempty"`
	ChassisIDType string  `json:"chassis_id_type,omitempty"`
	Address       string  `json:"address,omitempty"`
	Capabilities  string  `json:"capabilities,omitempty"`
	SeenFrom      []End   `json:"seen_from"`
	FirstSeen     float64 `json:"first_seen"`
	LastSeen      float64 `json:"last_seen"`
}

// Problem is bad input kept out of the graph.
type Problem struct {
	Kind   string `json:"kind"`
	Site   string `json:"site,omitempty"`
	Device string `json:"resource_id,omitempty"`
	Port   string `json:"port,omitempty"`
	Detail string `json:"detail"`
}

// Kinds of problem.
const (
	ProblemMalformedChassis = "malformed_chassis_id"
	ProblemSelf             = "neighbor_is_itself"
	ProblemDuplicateName    = "duplicate_system_name"
	ProblemDuplicateChassis = "duplicate_chassis_id"
	ProblemUnidentified     = "unidentified_neighbor"
)

// minTTL bounds a neighbour's lifetime from below: a neighbour not seen
// again within max(3 intervals, minTTL) of its last poll is gone.
const minTTL = 30.0

// identities maps names, chassis ids and addresses to device keys; one
// claimed by two devices is ambiguous (empty key) and matches nothing.
type identities struct {
	chassis, names, hosts, addrs map[string]string
	nameClaims                   map[string][]string // name → keys claiming it, for the duplicate report
	chassisClaims                map[string][]string
}

func newIdentities() *identities {
	return &identities{chassis: map[string]string{}, names: map[string]string{}, hosts: map[string]string{},
		addrs: map[string]string{}, nameClaims: map[string][]string{}, chassisClaims: map[string][]string{}}
}

func claim(m map[string]string, claims map[string][]string, v, key string) {
	if v == "" {
		return
	}
	if old, ok := m[v]; ok && old != key {
		m[v] = "" // ambiguous
		if claims != nil && !contains(claims[v], key) {
			claims[v] = append(claims[v], key)
		}
		return
	}
	if _, ok := m[v]; !ok {
		m[v] = key
		if claims != nil {
			claims[v] = []string{key}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// normName is a system name for matching: lower case, without a trailing dot.
func normName(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") }

// hostPart is a name without its domain.
func hostPart(s string) string {
	h, _, _ := strings.Cut(normName(s), ".")
	return h
}

// normChassis is a chassis id for matching.
func normChassis(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormPort is a port name for matching: lower case, the interface type
// shortened to two letters ("GigabitEthernet1/0/1" and "Gi1/0/1" are
// "gi1/0/1"; "Port-channel1" and "Po1" are "po1").
func NormPort(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] == '-' && i > 0) {
		i++
	}
	if i == 0 || i == len(s) {
		return s
	}
	prefix := strings.TrimRight(s[:i], "-")
	if len(prefix) > 2 {
		prefix = prefix[:2]
	}
	return prefix + s[i:]
}

// endpointHost is the host of a resource endpoint ("host", "host:port",
// "[v6]:port").
func endpointHost(ep string) string {
	if h, _, err := net.SplitHostPort(ep); err == nil {
		return h
	}
	return strings.Trim(ep, "[]")
}

// checkChassis reports why a chassis id cannot identify a device.
func checkChassis(id, typ string) string {
	switch typ {
	case "MAC_ADDRESS":
		hw, err := net.ParseMAC(id)
		if err != nil || len(hw) != 6 {
			return fmt.Sprintf("chassis id %q is not a MAC address though its subtype says so", id)
		}
		if string(hw) == "\x00\x00\x00\x00\x00\x00" || string(hw) == "\xff\xff\xff\xff\xff\xff" {
			return fmt.Sprintf("chassis id %s is not a device's MAC address", id)
		}
	case "NETWORK_ADDRESS":
		if _, err := netip.ParseAddr(id); err != nil {
			return fmt.Sprintf("chassis id %q is not a network address though its subtype says so", id)
		}
	}
	return ""
}

// Build computes the graph from the device records and the inventory
// (nil: the devices of the records only) as of now (epoch seconds).
func Build(records []*Record, inventory []*resource.Resource, now float64) *Graph {
	g := &Graph{Built: now}
	ids := newIdentities()
	devices := map[string]*Device{}
	add := func(r *resource.Resource) *Device {
		k := r.Key()
		d := devices[k]
		if d == nil {
			d = &Device{Site: r.Site, ID: r.ID, Key: k, res: r}
			devices[k] = d
		}
		return d
	}
	for _, r := range inventory {
		d := add(r)
		claim(ids.names, ids.nameClaims, normName(r.ID), d.Key)
		claim(ids.names, ids.nameClaims, normName(r.Meta("sys_name")), d.Key)
		for _, m := range []string{"chassis_id", "lldp_chassis_id"} {
			claim(ids.chassis, ids.chassisClaims, normChassis(r.Meta(m)), d.Key)
		}
		claim(ids.addrs, nil, endpointHost(r.Endpoint), d.Key)
		claim(ids.addrs, nil, r.Meta("mgmt_address"), d.Key)
	}
	byKey := map[string]*Record{}
	for _, rec := range records {
		if rec.Resource == nil {
			continue
		}
		d := add(rec.Resource)
		byKey[d.Key] = rec
		d.SystemName, d.ChassisID, d.Polled = rec.SystemName, rec.ChassisID, rec.Polled
		claim(ids.names, ids.nameClaims, normName(rec.Resource.ID), d.Key)
		claim(ids.names, ids.nameClaims, normName(rec.SystemName), d.Key)
		claim(ids.chassis, ids.chassisClaims, normChassis(rec.ChassisID), d.Key)
	}
	for name, key := range ids.names {
		if key != "" {
			claim(ids.hosts, nil, hostPart(name), key)
		}
	}
	g.reportDuplicates(ids, devices)

	obs := g.observe(byKey, devices, ids, now)
	g.Links = pair(obs, byKey)
	g.candidates(obs)
	for _, d := range devices {
		g.Devices = append(g.Devices, *d)
	}
	sort.Slice(g.Devices, func(i, j int) bool { return g.Devices[i].Key < g.Devices[j].Key })
	sort.Slice(g.Problems, func(i, j int) bool {
		a, b := g.Problems[i], g.Problems[j]
		return a.Kind+a.Device+a.Port+a.Detail < b.Kind+b.Device+b.Port+b.Detail
	})
	return g
}

func (g *Graph) reportDuplicates(ids *identities, devices map[string]*Device) {
	names := func(keys []string) string {
		var out []string
		for _, k := range keys {
			out = append(out, devices[k].ID)
		}
		sort.Strings(out)
		return strings.Join(out, ", ")
	}
	for name, keys := range ids.nameClaims {
		if len(keys) > 1 {
			g.Problems = append(g.Problems, Problem{Kind: ProblemDuplicateName,
				Detail: fmt.Sprintf("system name %q is claimed by %s: neighbours named so are matched by chassis id or address only", name, names(keys))})
		}
	}
	for c, keys := range ids.chassisClaims {
		if len(keys) > 1 {
			g.Problems = append(g.Problems, Problem{Kind: ProblemDuplicateChassis,
				Detail: fmt.Sprintf("chassis id %s is claimed by %s: neighbours with it are matched by name or address only", c, names(keys))})
		}
	}
}

// observation is one live neighbour of a device's port, resolved.
type observation struct {
	from   End
	n      *Neighbor
	to     string // device key; "" unresolved (a candidate)
	toSite string
	toID   string
}

// observe resolves every live neighbour; problems are reported and left
// out.
func (g *Graph) observe(byKey map[string]*Record, devices map[string]*Device, ids *identities, now float64) []observation {
	var out []observation
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rec := byKey[k]
		ttl := max(3*rec.Interval, minTTL)
		ports := make([]string, 0, len(rec.Ports))
		for p := range rec.Ports {
			ports = append(ports, p)
		}
		sort.Strings(ports)
		for _, p := range ports {
			pv := rec.Ports[p]
			for i := range pv.Neighbors {
				n := &pv.Neighbors[i]
				if now-n.LastSeen > ttl {
					continue // aged out
				}
				from := End{Site: rec.Resource.Site, Device: rec.Resource.ID, Port: p, key: k}
				problem := func(kind, detail string) {
					g.Problems = append(g.Problems, Problem{Kind: kind, Site: from.Site, Device: from.Device, Port: p, Detail: detail})
				}
				if why := checkChassis(n.ChassisID, n.ChassisIDType); why != "" {
					problem(ProblemMalformedChassis, why)
					continue
				}
				if n.ChassisID == "" && n.Name == "" && n.Address == "" {
					problem(ProblemUnidentified, "the neighbour gives no chassis id, name or address")
					continue
				}
				to := resolve(n, ids)
				if to == "" && ambiguous(n, ids) {
					problem(ProblemDuplicateName, fmt.Sprintf("the neighbour %q matches several devices by name and nothing else identifies it", n.Name))
					continue
				}
				self := to == k || n.ChassisID != "" && rec.ChassisID != "" && normChassis(n.ChassisID) == normChassis(rec.ChassisID)
				if self {
					problem(ProblemSelf, fmt.Sprintf("the neighbour (name %q, chassis id %q) is the device itself: a loop or a misreporting agent", n.Name, n.ChassisID))
					continue
				}
				o := observation{from: from, n: n, to: to}
				if d := devices[to]; d != nil {
					o.toSite, o.toID = d.Site, d.ID
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// resolve finds the device a neighbour is: by chassis id, by name (then by
// its host part), by management address; "" when none or ambiguous.
func resolve(n *Neighbor, ids *identities) string {
	if k := ids.chassis[normChassis(n.ChassisID)]; k != "" {
		return k
	}
	if n.Name != "" {
		if k := ids.names[normName(n.Name)]; k != "" {
			return k
		}
		if k := ids.hosts[hostPart(n.Name)]; k != "" {
			return k
		}
	}
	if n.Address != "" {
		if k := ids.addrs[n.Address]; k != "" {
			return k
		}
	}
	return ""
}

// ambiguous reports whether a neighbour's name is claimed by several
// devices (it is in the inventory, but which device is unknown).
func ambiguous(n *Neighbor, ids *identities) bool {
	if n.Name == "" {
		return false
	}
	k, ok := ids.names[normName(n.Name)]
	return ok && k == ""
}

// pair turns resolved observations into links: one seen from both ends
// (B's neighbour on B's port is A, naming A's port) is one link with both
// views; one seen from one end only names the far port as that end saw it
// (the far device's own name for it when it reports such a port).
func pair(obs []observation, byKey map[string]*Record) []Link {
	links := map[string]*Link{}
	// Observations by (from device, to device).
	between := map[[2]string][]int{}
	for i, o := range obs {
		if o.to != "" {
			between[[2]string{o.from.key, o.to}] = append(between[[2]string{o.from.key, o.to}], i)
		}
	}
	used := make([]bool, len(obs))
	view := func(o *observation) *View {
		return &View{RemotePort: o.n.Port, Protocol: o.n.Protocol, FirstSeen: o.n.FirstSeen, LastSeen: o.n.LastSeen}
	}
	put := func(a, b End, av, bv *View) {
		if a.key > b.key || a.key == b.key && NormPort(a.Port) > NormPort(b.Port) {
			a, b, av, bv = b, a, bv, av
		}
		id := linkID(a, b)
		l := links[id]
		if l == nil {
			l = &Link{ID: id, A: a, B: b}
			links[id] = l
		}
		for _, v := range []struct {
			dst **View
			v   *View
		}{{&l.AView, av}, {&l.BView, bv}} {
			if v.v != nil && (*v.dst == nil || v.v.LastSeen > (*v.dst).LastSeen) {
				*v.dst = v.v
			}
		}
	}
	for i := range obs {
		o := &obs[i]
		if o.to == "" || used[i] {
			continue
		}
		back := between[[2]string{o.to, o.from.key}]
		match := -1
		for _, j := range back {
			r := &obs[j]
			if !used[j] && NormPort(r.from.Port) == NormPort(o.n.Port) && NormPort(r.n.Port) == NormPort(o.from.Port) {
				match = j
				break
			}
		}
		if match < 0 && len(back) == 1 && len(between[[2]string{o.from.key, o.to}]) == 1 && !used[back[0]] {
			match = back[0] // one link between the two, port ids named differently
		}
		if match >= 0 {
			used[i], used[match] = true, true
			r := &obs[match]
			put(o.from, r.from, view(o), view(r))
			continue
		}
		used[i] = true
		far := End{Site: o.toSite, Device: o.toID, Port: o.n.Port, key: o.to}
		if rec := byKey[o.to]; rec != nil {
			for p := range rec.Ports {
				if NormPort(p) == NormPort(o.n.Port) {
					far.Port = p
				}
			}
		}
		put(o.from, far, view(o), nil)
	}
	out := make([]Link, 0, len(links))
	for _, l := range links {
		l.FirstSeen, l.LastSeen = 0, 0
		for _, v := range []*View{l.AView, l.BView} {
			if v == nil {
				continue
			}
			if l.FirstSeen == 0 || v.FirstSeen < l.FirstSeen {
				l.FirstSeen = v.FirstSeen
			}
			l.LastSeen = max(l.LastSeen, v.LastSeen)
		}
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// linkID identifies a link whichever end reported it.
func linkID(a, b End) string {
	return a.Site + "/" + a.Device + ":" + NormPort(a.Port) + " -- " + b.Site + "/" + b.Device + ":" + NormPort(b.Port)
}

// candidates lists the unresolved neighbours, one per identity.
func (g *Graph) candidates(obs []observation) {
	byID := map[string]*Candidate{}
	var order []string
	for i := range obs {
		o := &obs[i]
		if o.to != "" {
			continue
		}
		id := "c:" + normChassis(o.n.ChassisID)
		if o.n.ChassisID == "" {
			id = "n:" + normName(o.n.Name)
			if o.n.Name == "" {
				id = "a:" + o.n.Address
			}
		}
		c := byID[id]
		if c == nil {
			c = &Candidate{Name: o.n.Name, ChassisID: o.n.ChassisID, ChassisIDType: o.n.ChassisIDType, Address: o.n.Address,
				Capabilities: o.n.Capabilities, FirstSeen: o.n.FirstSeen}
			byID[id] = c
			order = append(order, id)
		}
		c.SeenFrom = append(c.SeenFrom, o.from)
		c.FirstSeen = min(c.FirstSeen, o.n.FirstSeen)
		c.LastSeen = max(c.LastSeen, o.n.LastSeen)
	}
	sort.Strings(order)
	for _, id := range order {
		g.Candidates = append(g.Candidates, *byID[id])
	}
}
