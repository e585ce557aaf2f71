package cluster

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

type metrics struct {
	members           *prometheus.GaugeVec
	owned             prometheus.Gauge
	ownershipChanges  prometheus.Counter
	leader            prometheus.Gauge
	leaderChanges     prometheus.Counter
	heartbeatFailures prometheus.Counter

	mu    sync.Mutex
	sites map[string]bool // label values set, to zero sites that emptied
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "panoptes_cluster_members", Help: "Live members (not draining) seen by this node, by site.",
		}, []string{"site"}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_cluster_resources_owned", Help: "Resources of this node's site that this node owns and polls.",
		}),
		ownershipChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_cluster_ownership_changes_total", Help: "Resources this node gained or lost after membership or inventory changes.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "panoptes_cluster_leader", Help: "1 while this node holds its site's leader key.",
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_cluster_leader_changes_total", Help: "Times this node became or stopped being its site's leader.",
		}),
		heartbeatFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "panoptes_cluster_heartbeat_failures_total", Help: "Membership heartbeats that could not be written.",
		}),
		sites: map[string]bool{},
	}
	m.members = selfmetric.Register(reg, m.members)
	m.owned = selfmetric.Register(reg, m.owned)
	m.ownershipChanges = selfmetric.Register(reg, m.ownershipChanges)
	m.leader = selfmetric.Register(reg, m.leader)
	m.leaderChanges = selfmetric.Register(reg, m.leaderChanges)
	m.heartbeatFailures = selfmetric.Register(reg, m.heartbeatFailures)
	return m
}

func (m *metrics) setMembers(bySite map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.sites {
		if _, ok := bySite[s]; !ok {
			m.members.WithLabelValues(s).Set(0)
		}
	}
	for s, n := range bySite {
		m.members.WithLabelValues(s).Set(float64(n))
		m.sites[s] = true
	}
}
