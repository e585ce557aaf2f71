// Package lldp is the `lldp` polling plugin: a device's LLDP and CDP
// neighbours as `neighbor` groups, one per neighbour of each local port
// (and, by default, one per local port without a neighbour), the input of
// the topology app. See README.md.
package lldp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

func init() { poll.Register("lldp", newPlugin) }

// GroupType is the group the plugin writes.
const GroupType = "neighbor"

// Dimensions of a neighbor group. The neighbour's are the ones the gNMI
// mapping gnmimaps/openconfig-lldp.yaml writes for OpenConfig's LLDP
// state; local_* describe the polled device, so that the topology app
// learns each device's own chassis id and system name from its polls.
const (
	DimLocalInterface   = "local_interface"
	DimLocalChassisID   = "local_chassis_id"
	DimLocalSystemName  = "local_system_name"
	DimProtocol         = "neighbor_protocol"
	DimID               = "neighbor_id"
	DimName             = "neighbor_name"
	DimChassisID        = "neighbor_chassis_id"
	DimChassisIDType    = "neighbor_chassis_id_type"
	DimPort             = "neighbor_port"
	DimPortIDType       = "neighbor_port_id_type"
	DimPortDescription  = "neighbor_port_description"
	DimAddress          = "neighbor_address"
	DimCapabilities     = "neighbor_capabilities"
	MetricPresent       = "neighbor_present"
	protocolLLDP        = "lldp"
	protocolCDP         = "cdp"
	defaultCDP          = true
	defaultEmptyPorts   = true
	maxIfNamesPerGetReq = 32
)

// Plugin is the lldp polling plugin. Options: cdp (default true) also
// reads CISCO-CDP-MIB's cdpCacheTable; empty_ports (default true) writes a
// group with neighbor_present 0 for every LLDP port without a neighbour,
// so that a neighbour's disappearance is seen at the next poll.
type Plugin struct {
	cdp, emptyPorts bool
	reader          reader // nil: req.SNMP
}

// reader is what the plugin needs of SNMP.
type reader interface {
	Walk(ctx context.Context, t snmp.Target, root string) ([]snmp.Varbind, error)
	Get(ctx context.Context, t snmp.Target, oids []string) ([]snmp.Varbind, error)
}

// Options are the plugin's options block.
type Options struct {
	CDP        bool `yaml:"cdp"`         // also read CISCO-CDP-MIB (default true)
	EmptyPorts bool `yaml:"empty_ports"` // a neighbor_present 0 group per LLDP port without a neighbour (default true)
}

func newPlugin(options plugin.Block) (poll.Plugin, error) {
	o := Options{CDP: defaultCDP, EmptyPorts: defaultEmptyPorts}
	if err := options.Decode(&o); err != nil {
		return nil, err
	}
	return &Plugin{cdp: o.CDP, emptyPorts: o.EmptyPorts}, nil
}

// poller is one check's state.
type poller struct {
	ctx  context.Context
	r    reader
	req  *poll.Request
	errs []error
	any  bool // some table answered with rows
}

func (p *poller) walk(name, root string) []snmp.Varbind {
	if p.ctx.Err() != nil {
		return nil
	}
	vbs, err := p.r.Walk(p.ctx, p.req.Target, root)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("walk %s: %w", name, err))
		return nil
	}
	if len(vbs) > 0 {
		p.any = true
	}
	return vbs
}

// Poll reads the LLDP-MIB tables (else the LLDP-V2-MIB ones) and the CDP
// cache, and builds the groups.
func (pl *Plugin) Poll(ctx context.Context, req *poll.Request) ([]*metric.Group, error) {
	r := pl.reader
	if r == nil {
		if req.SNMP == nil {
			return nil, poll.WithStatus(metric.StatusInternalFailure, poll.ErrNoSNMP)
		}
		r = req.SNMP
	}
	p := &poller{ctx: ctx, r: r, req: req}
	var local *localSystem
	var remotes []*remote
	for _, m := range []mib{lldpV1, lldpV2} {
		loc := p.walk(m.name+" lldpLocalSystemData", m.localData())
		rem := p.walk(m.name+" lldpRemTable", m.remTable())
		if len(loc) == 0 && len(rem) == 0 {
			continue // not this MIB
		}
		local = parseLocal(m, loc)
		remotes = parseRemotes(m, rem, p.walk(m.name+" lldpRemManAddrTable", m.manTable()))
		break
	}
	if local == nil {
		local = &localSystem{ports: map[int]*localPort{}}
	}
	var cdp []*remote
	if pl.cdp {
		cdp = parseCDP(p.walk("CISCO-CDP-MIB cdpCacheTable", oidCDPCacheEntry))
	}
	cdpNames := p.ifNames(cdp)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := pl.groups(req, local, remotes, cdp, cdpNames)
	err := errors.Join(p.errs...)
	if !p.any && err == nil {
		return nil, poll.WithStatus(metric.StatusMissingMetrics, errors.New("no LLDP-MIB, LLDP-V2-MIB or CISCO-CDP-MIB data: "+
			"LLDP and CDP are disabled on the device, or its SNMP view hides them"))
	}
	return groups, err
}

// ifNames reads the ifName (else ifDescr) of the local ports CDP names by
// ifIndex.
func (p *poller) ifNames(cdp []*remote) map[int]string {
	names := map[int]string{}
	var idx []int
	for _, r := range cdp {
		if _, ok := names[r.port]; !ok {
			names[r.port] = ""
			idx = append(idx, r.port)
		}
	}
	for start := 0; start < len(idx); start += maxIfNamesPerGetReq {
		chunk := idx[start:min(start+maxIfNamesPerGetReq, len(idx))]
		oids := make([]string, 0, 2*len(chunk))
		for _, i := range chunk {
			oids = append(oids, oidIfName+"."+strconv.Itoa(i), oidIfDescr+"."+strconv.Itoa(i))
		}
		if p.ctx.Err() != nil {
			return names
		}
		vbs, err := p.r.Get(p.ctx, p.req.Target, oids)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("get ifName of CDP ports: %w", err))
			return names
		}
		for i := range vbs {
			s, ok := snmp.Text(&vbs[i])
			if !ok || s == "" {
				continue
			}
			n, _ := strconv.Atoi(vbs[i].Name[strings.LastIndexByte(vbs[i].Name, '.')+1:])
			if names[n] == "" || strings.HasPrefix(strings.TrimPrefix(vbs[i].Name, "."), oidIfName[1:]) {
				names[n] = s
			}
		}
	}
	return names
}

// neighbor is one group to write: a local port and its neighbour (nil for
// a port without one).
type neighbor struct {
	port    string
	sortKey int
	r       *remote
}

func (pl *Plugin) groups(req *poll.Request, local *localSystem, lldp, cdp []*remote, cdpNames map[int]string) []*metric.Group {
	var rows []neighbor
	seen := map[int]bool{}
	for _, r := range lldp {
		name := "port " + strconv.Itoa(r.port)
		if lp := local.ports[r.port]; lp != nil {
			name = lp.name()
		}
		rows = append(rows, neighbor{port: name, sortKey: r.port, r: r})
		seen[r.port] = true
	}
	for _, r := range cdp {
		name := cdpNames[r.port]
		if name == "" {
			name = "ifIndex " + strconv.Itoa(r.port)
		}
		if merged := mergeCDP(rows, name, r); merged {
			continue
		}
		rows = append(rows, neighbor{port: name, sortKey: r.port, r: r})
	}
	if pl.emptyPorts {
		for num, lp := range local.ports {
			if !seen[num] && !hasPort(rows, lp.name()) {
				rows = append(rows, neighbor{port: lp.name(), sortKey: num})
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].port != rows[j].port {
			if rows[i].sortKey != rows[j].sortKey {
				return rows[i].sortKey < rows[j].sortKey
			}
			return rows[i].port < rows[j].port
		}
		return rows[i].r != nil && rows[j].r != nil && rows[i].r.index < rows[j].r.index
	})
	localDims := []metric.Dimension{}
	if len(local.chassisID) > 0 {
		localDims = append(localDims, metric.Dimension{Name: DimLocalChassisID, Value: renderChassisID(local.chassisSubtype, local.chassisID)})
	}
	if local.sysName != "" {
		localDims = append(localDims, metric.Dimension{Name: DimLocalSystemName, Value: local.sysName})
	}
	at := float64(time.Now().UnixNano()) / 1e9
	out := make([]*metric.Group, 0, len(rows))
	for _, row := range rows {
		dims := append([]metric.Dimension{{Name: DimLocalInterface, Value: row.port}}, localDims...)
		present := uint64(0)
		if r := row.r; r != nil {
			present = 1
			add := func(name, v string) {
				if v != "" {
					dims = append(dims, metric.Dimension{Name: name, Value: v})
				}
			}
			add(DimProtocol, r.protocol)
			add(DimID, r.index)
			add(DimName, r.sysName)
			if len(r.chassisID) > 0 {
				add(DimChassisID, renderChassisID(r.chassisSubtype, r.chassisID))
				add(DimChassisIDType, chassisTypes[r.chassisSubtype])
			}
			if len(r.portID) > 0 || r.portDesc != "" {
				add(DimPort, portName(r.portSubtype, r.portID, r.portDesc, 0))
				add(DimPortIDType, portTypes[r.portSubtype])
			}
			add(DimPortDescription, r.portDesc)
			if len(r.addresses) > 0 {
				add(DimAddress, r.addresses[0])
			}
			add(DimCapabilities, r.capabilities)
		}
		out = append(out, &metric.Group{
			Resource: req.Resource, Type: GroupType, Interval: int(req.Interval / time.Second),
			CreationTimestamp: float64(req.Now.UnixNano()) / 1e9, SchemaVersion: metric.SchemaVersion,
			Metrics:    []metric.Metric{{Name: MetricPresent, Value: metric.Uint(present), Type: metric.Gauge, Timestamp: at}},
			Dimensions: dims,
		})
	}
	return out
}

func hasPort(rows []neighbor, name string) bool {
	for _, r := range rows {
		if r.port == name {
			return true
		}
	}
	return false
}

// mergeCDP folds a CDP neighbour into the LLDP one of the same local port
// that names the same system (by name, with or without a domain, or by
// management address): what LLDP lacks (an address) comes from CDP.
func mergeCDP(rows []neighbor, port string, c *remote) bool {
	for _, row := range rows {
		l := row.r
		if row.port != port || l == nil || l.protocol != protocolLLDP {
			continue
		}
		same := hostPart(l.sysName) != "" && strings.EqualFold(hostPart(l.sysName), hostPart(c.sysName))
		for _, a := range l.addresses {
			for _, b := range c.addresses {
				same = same || a == b
			}
		}
		if !same {
			continue
		}
		if len(l.addresses) == 0 {
			l.addresses = c.addresses
		}
		if l.capabilities == "" {
			l.capabilities = c.capabilities
		}
		return true
	}
	return false
}

// hostPart is a system name without its domain.
func hostPart(name string) string {
	h, _, _ := strings.Cut(strings.TrimSpace(name), ".")
	return h
}
