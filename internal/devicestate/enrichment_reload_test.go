package devicestate

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/simdevice"
)

// oneMember is a site of one node, the enricher of everything.
type oneMember struct{}

func (oneMember) ID() string { return "n1" }
func (oneMember) Sharing(string) []cluster.Member {
	return []cluster.Member{{ID: "n1", Capacity: 1}}
}

// TestEnrichmentReloadReachesVisits: a reload that rotates the credential
// (SetSNMP) reaches the Refresher's scheduled collections, which resolve
// their target at each visit: against the simulator, which drops the old
// community's requests, the first visit after the reload collects.
func TestEnrichmentReloadReachesVisits(t *testing.T) {
	dev := simdevice.Serve(t, "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.516\n"+
		"1.3.6.1.2.1.1.3.0|67|123456\n"+
		"1.3.6.1.2.1.1.5.0|4|sw-reload\n"+
		"1.3.6.1.2.1.2.2.1.2.1|4|GigabitEthernet0/1\n"+
		"1.3.6.1.2.1.31.1.1.1.1.1|4|Gi0/1\n")
	pool := snmp.NewPool(snmp.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	opts := func(community string) poll.SNMPOptions {
		return poll.SNMPOptions{Timeout: 2 * time.Second, Retries: 1, Credential: "lab", // one slow answer on a busy machine is no failure
			Credentials: map[string]*snmp.Credential{"lab": {Version: "2c", Community: community}}}
	}
	cache := enrich.New(enrich.Options{Refresh: time.Hour})
	cfg := &config.Config{Site: "s1", Roles: []string{config.RoleEnrichment}}
	cfg.Cluster.Heartbeat = config.Duration(time.Second)
	e := NewEnrichment(EnrichmentOptions{Cache: cache, Config: cfg, Pool: pool, SNMP: opts("old-secret"), Members: oneMember{},
		Uses: func(*resource.Resource) bool { return true }, Logger: slog.New(slog.DiscardHandler)})
	res := &resource.Resource{Site: "s1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1", Endpoint: "127.0.0.1"}
	res.Metadata = map[string]string{poll.MetaPort: strconv.Itoa(dev.Port)}
	e.Reconcile([]*resource.Resource{res}, map[string]bool{})
	if e.Refreshing() != 1 {
		t.Fatalf("refreshing %d resources, want 1", e.Refreshing())
	}
	e.SetSNMP(opts("public")) // the reload, before the first visit
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !cache.Has(res.Key()) {
		if time.Now().After(deadline) {
			t.Fatal("the visit after the reload did not collect: it used the old credential")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
