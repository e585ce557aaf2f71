package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/parts"
	"github.com/panoptes-go/panoptes/internal/phase"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/wire"
)

const (
	clusterDevices  = 300
	clusterInterval = time.Second
)

// polls records every status group published for site lab: which resource
// was polled at which due time.
type polls struct {
	mu     sync.Mutex
	events map[string][]time.Time // resource key → check start times
}

func (p *polls) add(key string, at time.Time) {
	p.mu.Lock()
	p.events[key] = append(p.events[key], at)
	p.mu.Unlock()
}

// tally counts, over the due times of [from, to) of every resource, the
// intervals polled by nobody and those polled more than once. A check's
// due time is its phase plus a whole number of intervals (phase.Of).
func (p *polls) tally(keys []string, from, to time.Time) (missed, twice int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	iv := int64(clusterInterval)
	for _, k := range keys {
		phase := int64(phase.Of("uptime|"+k, clusterInterval))
		count := map[int64]int{}
		for _, at := range p.events[k] {
			// A run starts at or after its due time, and before the next
			// (its deadline): the slot at or before its start, with 50 ms
			// for the timestamp's rounding. Rounding to the nearest slot
			// counted a start over half an interval late (p99 377 ms on a
			// loaded CI machine) as the next slot's, and that slot twice.
			count[(at.UnixNano()-phase+int64(50*time.Millisecond))/iv]++
		}
		first := (from.UnixNano() - phase + iv - 1) / iv
		for slot := first; slot*iv+phase < to.UnixNano(); slot++ {
			switch c := count[slot]; {
			case c == 0:
				missed++
			case c > 1:
				twice++
			}
		}
	}
	return missed, twice
}

// firstAfter is the first poll of key at or after t.
func (p *polls) firstAfter(key string, t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, at := range p.events[key] {
		if !at.Before(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

type testNode struct {
	n      *Node
	cancel context.CancelFunc
	done   chan error
}

// stop ends the node: gracefully, or abruptly as kill -9 would (no
// handover; its membership expires).
func (tn *testNode) stop(t *testing.T, abrupt bool) {
	t.Helper()
	tn.n.abrupt.Store(abrupt)
	tn.cancel()
	select {
	case err := <-tn.done:
		if err != nil {
			t.Errorf("node %s: %v", tn.n.cfg.Cluster.NodeID, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not stop", tn.n.cfg.Cluster.NodeID)
	}
}

// owners maps every lab resource to its owner as node tn sees it.
func (tn *testNode) owners(keys []string) map[string]string {
	return cluster.Assign(tn.n.cluster.Pollers(), keys)
}

// TestClusterFailover runs several nodes against one NATS server over 300
// simulated devices: every device is polled every interval by exactly one
// node; a fourth node joining takes about 1/4 and nothing moves between the
// old nodes; a node killed without handover has its devices polled again
// within 15 s; a graceful stop hands over without a missed interval.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs NATS, 300 simulated devices and four nodes for about 40 s")
	}
	ctx, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	dir := t.TempDir()

	b, err := bus.Open(ctx, bus.Options{DataDir: filepath.Join(dir, "hub"), Listen: "127.0.0.1:0", MaxBytes: 256 << 20, Name: "hub"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	farm, err := sim.Start(ctx, sim.Options{Devices: clusterDevices, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	var inv strings.Builder
	if err := farm.WriteInventory(&inv, "sim"); err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "devices.csv")
	if err := os.WriteFile(csvPath, []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	rec := &polls{events: map[string][]time.Time{}}
	sub, err := b.Conn().Subscribe(wire.MetricsPrefix+"lab.status", func(m *nats.Msg) {
		groups, err := wire.Decode(m.Data)
		if err != nil {
			t.Errorf("bad status group: %v", err)
			return
		}
		for _, g := range groups {
			sec, frac := math.Modf(g.CreationTimestamp)
			rec.add(g.Resource.Key(), time.Unix(int64(sec), int64(frac*1e9)))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	start := func(id, roles string) *testNode {
		t.Helper()
		cfgText := fmt.Sprintf(`site: lab
data_dir: %s
http: {listen: ""}
roles: [%s]
bus: {url: %q}
cluster: {node_id: %s}
discovery:
  interval: 2s
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
  timeout: 500ms
  retries: 0
polling:
  plugins: [{name: uptime, interval: 1s}]
`, filepath.Join(dir, id), roles, b.ClientURL(), id, csvPath)
		cfg, err := config.Parse(filepath.Join(dir, id+".yaml"), []byte(cfgText), os.LookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		nctx, cancel := context.WithCancel(ctx)
		tn := &testNode{n: n, cancel: cancel, done: make(chan error, 1)}
		go func() { tn.done <- n.Run(nctx) }()
		return tn
	}
	nodes := map[string]*testNode{}
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes[id] = start(id, "poller, discovery, resource_manager")
	}
	defer func() {
		for _, tn := range nodes {
			tn.stop(t, false)
		}
	}()

	// Wait until discovery has filled the inventory and all three poll.
	var keys []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		total, ready := 0, 0
		for _, tn := range nodes {
			if tn.n.readiness() == nil {
				ready++
				total += tn.n.poller.Scheduler().Len()
			}
		}
		if total == clusterDevices && ready == len(nodes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d checks scheduled over %d ready nodes, want %d over %d", total, ready, clusterDevices, len(nodes))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range nodes["n1"].n.index.Snapshot() {
		keys = append(keys, r.Key())
	}
	leaders := func() []string {
		var out []string
		for id, tn := range nodes {
			if tn.n.cluster.IsLeader() {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	if l := leaders(); len(l) != 1 {
		t.Fatalf("leaders = %v, want exactly one", l)
	}

	// A node without the poller and leader roles polls nothing, leads
	// nothing and takes no share.
	consumer := start("k1", "consumer, http")
	defer consumer.stop(t, false)
	for ready := time.Now().Add(15 * time.Second); consumer.n.readiness() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(ready) {
			t.Fatal("the consumer-only node never became ready")
		}
	}

	// Steady state: every device once per interval.
	steadyFrom := time.Now().Add(clusterInterval)
	time.Sleep(5 * clusterInterval)
	steadyTo := time.Now().Add(-clusterInterval) // let the last checks land
	// No check may run twice. A miss here is a check started over half an
	// interval late (a starved machine, not ownership): a few are tolerated.
	missed, twice := rec.tally(keys, steadyFrom, steadyTo)
	slots := len(keys) * int(steadyTo.Sub(steadyFrom)/clusterInterval)
	t.Logf("steady state, 3 nodes: %d device-intervals, %d missed, %d polled twice", slots, missed, twice)
	if twice != 0 || missed > slots/100 {
		t.Errorf("steady state with 3 nodes: %d intervals missed, %d polled twice; want 0 twice and under 1%% missed", missed, twice)
	}

	// A fourth node joins: it takes about 1/4 of the devices,
	// and nothing moves between the others.
	before := nodes["n1"].owners(keys)
	joinedAt := time.Now()
	nodes["n4"] = start("n4", "poller, discovery, resource_manager")
	var after map[string]string
	deadline = time.Now().Add(10 * time.Second)
	for {
		after = nodes["n1"].owners(keys)
		if slices.Contains(slices.Collect(maps.Values(after)), "n4") && nodes["n4"].n.readiness() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n4 never took any device")
		}
		time.Sleep(20 * time.Millisecond)
	}
	moved := 0
	for _, k := range keys {
		if before[k] != after[k] {
			moved++
			if after[k] != "n4" {
				t.Errorf("device %s moved from %s to %s when n4 joined", k, before[k], after[k])
			}
		}
	}
	time.Sleep(3 * clusterInterval)
	missed, twice = rec.tally(keys, joinedAt, time.Now().Add(-clusterInterval))
	t.Logf("n4 joined 3 nodes: took %d of %d devices (%.2f, ideal 0.25), none moved between the others; %d intervals missed, %d run twice during the move",
		moved, len(keys), float64(moved)/float64(len(keys)), missed, twice)
	if share := float64(moved) / float64(len(keys)); share < 0.18 || share > 0.32 {
		t.Errorf("n4 took a share of %.2f, want about 1/4", share)
	}
	// The old owners poll the moving devices' due times before n4's join
	// time, n4 those from it on: nothing twice (before join times, n4
	// polled as soon as it joined, and a CI run counted 4 twice).
	if missed > 3 || twice != 0 {
		t.Errorf("join: %d missed, %d twice; want none twice and at most a few missed", missed, twice)
	}

	if consumer.n.poller.Scheduler().Len() != 0 || consumer.n.cluster.IsLeader() {
		t.Errorf("consumer-only node: %d checks, leader %v; want none", consumer.n.poller.Scheduler().Len(), consumer.n.cluster.IsLeader())
	}

	// kill -9 the leader: no handover, its membership expires.
	victim := leaders()[0]
	own := nodes[victim].owners(keys)
	var victimKeys []string
	for k, o := range own {
		if o == victim {
			victimKeys = append(victimKeys, k)
		}
	}
	killedAt := time.Now()
	nodes[victim].stop(t, true)
	delete(nodes, victim)
	var recovered time.Duration
	for _, k := range victimKeys {
		for {
			at, ok := rec.firstAfter(k, killedAt)
			if ok {
				recovered = max(recovered, at.Sub(killedAt))
				break
			}
			if time.Since(killedAt) > 20*time.Second {
				t.Fatalf("device %s of killed node %s not polled %s after the kill", k, victim, time.Since(killedAt))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(2 * clusterInterval)
	missed, twice = rec.tally(keys, killedAt, time.Now().Add(-clusterInterval))
	t.Logf("kill -9 of %s (leader, %d devices): recovered in %s; %d intervals missed, %d checks run twice; new leader %v",
		victim, len(victimKeys), recovered.Round(time.Millisecond), missed, twice, leaders())
	if recovered > 15*time.Second {
		t.Errorf("recovery took %s, want ≤ 15s", recovered)
	}
	if twice != 0 {
		t.Errorf("%d checks ran twice after the kill", twice)
	}
	if l := leaders(); len(l) != 1 {
		t.Errorf("leaders after the kill = %v, want exactly one", l)
	}

	// Graceful stop hands over without a missed interval.
	var leaving string
	for id := range nodes {
		leaving = id
		break
	}
	stoppedAt := time.Now()
	nodes[leaving].stop(t, false)
	delete(nodes, leaving)
	time.Sleep(3 * clusterInterval)
	missed, twice = rec.tally(keys, stoppedAt, time.Now().Add(-clusterInterval))
	t.Logf("graceful stop of %s: %d intervals missed, %d run twice", leaving, missed, twice)
	if missed > 3 || twice > 3 {
		t.Errorf("graceful stop: %d missed, %d twice; want at most a few checks racing the handover", missed, twice)
	}
	for id, tn := range nodes {
		p50, p99 := tn.n.poller.Scheduler().LatencyQuantiles()
		st := tn.n.poller.Scheduler().Stats()
		t.Logf("%s: start lateness p50 %s p99 %s; %d checks started, %d skipped (overrun)", id, p50, p99, st.Started, st.Skipped)
	}
	got := 0
	for _, tn := range nodes {
		got += tn.n.poller.Scheduler().Len()
	}
	if got != clusterDevices {
		t.Errorf("after the handover the last %d nodes schedule %d checks, want %d", len(nodes), got, clusterDevices)
	}
}

// TestConsumerNamesListApps: a node announces the bus consumers it runs,
// its sinks (built by Run) and the apps of its roles (apps.ConsumerName),
// so that the instances of an app on several nodes split the partitions
// as sinks do.
func TestConsumerNamesListApps(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		roles string
		want  []string
	}{
		{"", []string{"app_events", "app_links"}},
		{"roles: [poller, events]\n", []string{"app_events"}},
	} {
		cfgText := "site: lab\ndata_dir: data\n" + tc.roles + `apps:
  - {plugin: events}
  - {plugin: topology, name: links}
`
		cfg, err := config.Parse(filepath.Join(dir, "n.yaml"), []byte(cfgText), os.LookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := parts.ConsumerNames(n.cfg); !slices.Equal(got, tc.want) {
			t.Errorf("%sparts.ConsumerNames = %v, want %v", tc.roles, got, tc.want)
		}
	}
}
