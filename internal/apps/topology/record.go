package topology

import (
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Names of the neighbor group (the lldp polling plugin and the gNMI LLDP
// mapping write them).
const (
	GroupType          = "neighbor"
	dimLocalInterface  = "local_interface"
	dimLocalChassisID  = "local_chassis_id"
	dimLocalSystemName = "local_system_name"
	metricPresent      = "neighbor_present"
)

// Record is what one device's neighbour polls say, as kept in KV: the
// device's own identity and, per local port, the neighbours of the latest
// poll that reported the port.
type Record struct {
	Resource   *resource.Resource   `json:"resource"`
	ChassisID  string               `json:"chassis_id,omitempty"`
	SystemName string               `json:"system_name,omitempty"`
	Interval   float64              `json:"interval"` // seconds between polls
	Polled     float64              `json:"polled"`   // the latest poll
	Ports      map[string]*PortView `json:"ports"`
}

// PortView is a local port as of one poll.
type PortView struct {
	At        float64    `json:"at"`
	Neighbors []Neighbor `json:"neighbors,omitempty"`
}

// Neighbor is one neighbour a port reports.
type Neighbor struct {
	Protocol        string  `json:"protocol,omitempty"`
	ID              string  `json:"id,omitempty"`
	Name            string  `json:"name,omitempty"`
	ChassisID       string  `json:"chassis_id,omitempty"`
	ChassisIDType   string  `json:"chassis_id_type,omitempty"`
	Port            string  `json:"port,omitempty"`
	PortIDType      string  `json:"port_id_type,omitempty"`
	PortDescription string  `json:"port_description,omitempty"`
	Address         string  `json:"address,omitempty"`
	Capabilities    string  `json:"capabilities,omitempty"`
	FirstSeen       float64 `json:"first_seen"`
	LastSeen        float64 `json:"last_seen"`
}

// same reports whether two observations are the same neighbour (its
// first_seen carries over).
func (n *Neighbor) same(o *Neighbor) bool {
	return n.ChassisID == o.ChassisID && n.Name == o.Name && n.Port == o.Port && n.Protocol == o.Protocol
}

// neighborOf reads a neighbor group's neighbour; ok is false for a port
// without one (neighbor_present 0).
func neighborOf(g *metric.Group) (Neighbor, bool) {
	if m, ok := g.Metric(metricPresent); ok && m.Value.Int64() == 0 {
		return Neighbor{}, false
	}
	n := Neighbor{
		Protocol: g.Dimension("neighbor_protocol"), ID: g.Dimension("neighbor_id"), Name: g.Dimension("neighbor_name"),
		ChassisID: g.Dimension("neighbor_chassis_id"), ChassisIDType: g.Dimension("neighbor_chassis_id_type"),
		Port: g.Dimension("neighbor_port"), PortIDType: g.Dimension("neighbor_port_id_type"),
		PortDescription: g.Dimension("neighbor_port_description"), Address: g.Dimension("neighbor_address"),
		Capabilities: g.Dimension("neighbor_capabilities"), FirstSeen: g.CreationTimestamp, LastSeen: g.CreationTimestamp,
	}
	return n, true
}

// forgetPorts drops a port view this much older than the latest poll (a
// port that no longer exists).
const forgetPorts = 24 * 3600

// apply folds groups of r's device into r (groups of other types, or
// without a local port, are skipped). A port's view is replaced by a newer
// poll's, added to by another group of the same poll, and an older poll's
// is ignored. It reports whether r changed.
func (r *Record) apply(groups []*metric.Group) bool {
	changed := false
	replaced := map[string][]Neighbor{} // a port's neighbours before this call replaced its view
	if r.Ports == nil {
		r.Ports = map[string]*PortView{}
	}
	for _, g := range groups {
		port := g.Dimension(dimLocalInterface)
		if g.Type != GroupType || port == "" {
			continue
		}
		at := g.CreationTimestamp
		if at >= r.Polled {
			if v := g.Dimension(dimLocalChassisID); v != "" {
				r.ChassisID = v
			}
			if v := g.Dimension(dimLocalSystemName); v != "" {
				r.SystemName = v
			}
			r.Resource = g.Resource
			r.Interval = float64(g.Interval)
			r.Polled = at
		}
		n, present := neighborOf(g)
		pv := r.Ports[port]
		if pv != nil && at > pv.At {
			replaced[port] = pv.Neighbors
		}
		for _, old := range replaced[port] {
			if old.same(&n) {
				n.FirstSeen = old.FirstSeen
			}
		}
		switch {
		case pv == nil || at > pv.At:
			nv := &PortView{At: at}
			if present {
				nv.Neighbors = []Neighbor{n}
			}
			r.Ports[port] = nv
		case at == pv.At && present:
			dup := false
			for i := range pv.Neighbors {
				dup = dup || pv.Neighbors[i].same(&n)
			}
			if dup {
				continue
			}
			pv.Neighbors = append(pv.Neighbors, n)
		default:
			continue // an older poll, or a repeat
		}
		changed = true
	}
	for name, pv := range r.Ports {
		if r.Polled-pv.At > forgetPorts {
			delete(r.Ports, name)
			changed = true
		}
	}
	return changed
}
