package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/cluster"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/wire"
)

const (
	e2eDevices  = 300
	e2eInterval = 2 * time.Second
	// maxRaced bounds the checks run twice while a node joins (or comes
	// back): it polls its share from before it announces itself, and the
	// others drop that share when they see it, so a check due in between
	// runs twice (the race errs towards twice, never towards a missed
	// interval; a graceful leave hands over at a set time and races
	// nothing). At most one interval of the returning node's share (about
	// a third of the devices) can run twice; 0-3 is typical, 57 was seen in
	// CI on a loaded machine when announcing took most of an interval. A
	// real double-polling bug (every node polling every device) shows as
	// 300 or more per interval.
	maxRaced = e2eDevices / 2
	// overrunMetric counts a node's due times skipped as overruns (not the
	// ones dropped by a check's removal or a stop: a handover's).
	overrunMetric = `panoptes_schedule_checks_skipped_total{reason="overrun"}`
)

// TestClusterProcesses runs real `panoptes run` processes whose embedded
// NATS servers form a 3-server JetStream cluster (replicas 3), polling 300
// simulated devices every 2 s, and watches every check on the bus:
//
//   - steady state: every device polled every interval by exactly one process;
//   - graceful restart of the stream leader's process (its server leaves and
//     rejoins the cluster): every device's every interval reaches the file
//     sink of another process;
//   - a fourth process joins through bus.url: it takes about 1/4 of the
//     devices and none move between the others;
//   - kill -9 of the process whose server leads the membership bucket: its
//     devices are polled again within 15 s, and none twice.
func TestClusterProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs four panoptes processes (a 3-server NATS cluster) and 300 simulated devices for about a minute")
	}
	binary(t) // build first: the build is not the cluster's time
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()

	csvPath := simFarm(t, dir, e2eDevices, "switch48")
	sinkPath := filepath.Join(dir, "out", "metrics.jsonl")

	// Three processes, each embedding a server routed to the other two.
	var clientListen, routeListen, routes []string
	for range 3 {
		clientListen = append(clientListen, freeport.Addr(freeport.TCP(t)))
		r := freeport.Addr(freeport.TCP(t))
		routeListen = append(routeListen, r)
		routes = append(routes, "nats-route://"+r)
	}
	var nodes []*clusterNode
	var urls []string
	for i := range 3 {
		c := clusterNodeConfig{id: fmt.Sprintf("n%d", i+1), dir: dir, csvPath: csvPath, interval: e2eInterval,
			clientListen: clientListen[i], routeListen: routeListen[i], routes: routes}
		if i == 0 {
			c.sinkPath = sinkPath // n1 runs the consumer role's file sink
		}
		n := writeClusterConfig(t, c)
		n.start(t)
		nodes = append(nodes, n)
		urls = append(urls, n.clientURL)
	}
	byID := map[string]*clusterNode{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	obs := newPollLog(e2eInterval)
	conns := obs.observe(t, urls)
	js, err := jetstream.New(conns[0])
	if err != nil {
		t.Fatal(err)
	}

	// Up: all ready, every device seen on the bus, and the owned counts add up.
	waitFor(t, "3 ready nodes polling every device", 90*time.Second, nil, func() bool {
		owned := 0.0
		for _, n := range nodes {
			if !n.p.alive() {
				t.Fatalf("node %s exited: %v", n.id, n.p.err)
			}
			if !n.ready() {
				return false
			}
			owned += n.gauge("panoptes_cluster_resources_owned")
		}
		return owned == e2eDevices && len(obs.keys()) == e2eDevices
	})
	t.Logf("3 processes clustered and polling %d devices %s after start", e2eDevices, time.Since(began).Round(100*time.Millisecond))
	keys := obs.keys()

	// pubNode names the process life (bus instance) behind a Msg-Id prefix,
	// by matching what each one polls with rendezvous ownership over the
	// live node ids: any disagreement between the processes shows here.
	pubNode := map[string]string{} // every publisher seen → node id
	curPub := map[string]string{}  // node id → its current life's publisher
	matchOwners := func(what string, from, to time.Time, ids ...string) map[string]string {
		t.Helper()
		owners := obs.owners(t, keys, from, to)
		var members []cluster.Member
		for _, id := range ids {
			members = append(members, cluster.Member{ID: id, Capacity: 1})
		}
		want := cluster.Assign(members, keys)
		byPub := map[string][]string{} // publisher → the owners hashing gives its devices
		for k, pub := range owners {
			byPub[pub] = append(byPub[pub], want[k])
		}
		sizes := map[string]int{} // node id → devices it polls
		for pub, nodeIDs := range byPub {
			n := len(nodeIDs)
			slices.Sort(nodeIDs)
			if nodeIDs = slices.Compact(nodeIDs); len(nodeIDs) != 1 {
				t.Errorf("%s: one process polls devices that rendezvous hashing gives to %v", what, nodeIDs)
				continue
			}
			if prev, ok := pubNode[pub]; ok && prev != nodeIDs[0] {
				t.Errorf("%s: the process that was %s polls %s's devices", what, prev, nodeIDs[0])
			}
			pubNode[pub], curPub[nodeIDs[0]] = nodeIDs[0], pub
			sizes[nodeIDs[0]] = n
		}
		for _, id := range ids {
			if got := byID[id].gauge("panoptes_cluster_resources_owned"); int(got) != sizes[id] {
				t.Errorf("%s: %s reports %v resources owned, polls %d", what, id, got, sizes[id])
			}
		}
		t.Logf("%s: devices per node %v", what, sizes)
		return owners
	}

	// 1. Steady state: every device once per interval.
	steadyFrom := time.Now().Add(e2eInterval / 2)
	time.Sleep(5*e2eInterval + e2eInterval/2)
	steadyTo := time.Now().Add(-e2eInterval)
	slots, missed, twice := obs.tally(keys, steadyFrom, steadyTo)
	t.Logf("steady state, 3 processes: %d device-intervals, %d missed, %d polled twice", slots, missed, twice)
	explain := func(from, to time.Time) {
		obs.explain(t, keys, from, to, func(pub string) string {
			if id, ok := pubNode[pub]; ok {
				return id
			}
			return pub
		}, 10)
	}
	if missed != 0 || twice != 0 || slots < 4*e2eDevices {
		explain(steadyFrom, steadyTo)
		t.Errorf("steady state: %d missed and %d polled twice of %d device-intervals; want none of either", missed, twice, slots)
	}
	matchOwners("steady state", steadyFrom, steadyTo, "n1", "n2", "n3")
	if t.Failed() {
		t.FailNow()
	}

	// 4. Graceful restart of a server while polling goes on: the stream
	// leader's process (not the sink's), SIGTERM then start again on the
	// same data_dir. Nothing may be lost on the way to n1's file sink.
	serverOf := map[string]*clusterNode{}
	for _, n := range nodes {
		serverOf[n.serverName(t)] = n
	}
	var restarted *clusterNode
	for range 5 {
		if l := serverOf[streamLeader(ctx, js, wire.MetricsStream)]; l != nil && l != nodes[0] {
			restarted = l
			break
		}
		if err := stepDown(conns[0], wire.MetricsStream); err != nil {
			t.Logf("stream leader step down: %v", err)
		}
		time.Sleep(time.Second)
	}
	if restarted == nil {
		t.Fatalf("the metrics stream's leader is %q: not a node other than n1", streamLeader(ctx, js, wire.MetricsStream))
	}
	// Checks the nodes skip as overruns (the previous run still in flight
	// at the next due time: counted, never stacked) are missing from the
	// bus and the file by design, and excused below. At load 19 three of
	// n1's checks due as the stream leader's server left ran past their
	// next due time: n1 counted 3 skipped, the 3 missed intervals were
	// n1's, two of them of devices n1 owned throughout. Only overruns are
	// excused: a due time dropped as its check was removed (a handover) or
	// its node stopped is counted under another reason, and fails.
	skippedBefore := map[string]float64{}
	for _, n := range nodes {
		skippedBefore[n.id] = n.counter(overrunMetric)
	}
	restartFrom := time.Now()
	// The stopping node's count until its HTTP listener closes, after its
	// last checks: its skips while it drains count too.
	lastSkipped := make(chan float64, 1)
	stopped := make(chan struct{})
	go func() {
		last := skippedBefore[restarted.id]
		for {
			select {
			case <-stopped:
				lastSkipped <- last
				return
			case <-time.After(50 * time.Millisecond):
			}
			if v := restarted.counter(overrunMetric); v >= 0 {
				last = v
			}
		}
	}()
	func() {
		defer close(stopped) // also when stop fails the test
		restarted.p.stop(t)
	}()
	skippedLeaving := 0.0 // nothing excused when the count before could not be read
	if before := skippedBefore[restarted.id]; before >= 0 {
		skippedLeaving = max(<-lastSkipped-before, 0)
	}
	stoppedIn := time.Since(restartFrom)
	knownPubs := slices.Collect(maps.Keys(pubNode))
	restarted.start(t)
	var back time.Time // the restarted process's first check
	waitFor(t, restarted.id+" ready again and polling", 60*time.Second, restarted.p, func() bool {
		_, back = newPublisher(obs, knownPubs, restartFrom)
		return restarted.ready() && !back.IsZero()
	})
	// Ownership is settled once the others have seen it back: from its
	// first check on. Judge a few intervals after that.
	restartTo := back.Add(3 * e2eInterval)
	time.Sleep(time.Until(restartTo))
	skipped := int(skippedLeaving) // overruns over the restart (the restarted one's new life from 0), read at its end
	for _, n := range nodes {
		from := skippedBefore[n.id]
		if n == restarted {
			from = 0
		}
		if now := n.counter(overrunMetric); now >= 0 && from >= 0 {
			skipped += int(now - from)
		}
	}
	time.Sleep(e2eInterval) // the window's last checks reach the bus
	slots, missed, twice = obs.tally(keys, restartFrom, restartTo)
	t.Logf("graceful restart of %s (stream leader): stopped in %s, polling again %s after SIGTERM; on the bus %d device-intervals, %d missed, %d polled twice",
		restarted.id, stoppedIn.Round(10*time.Millisecond), back.Sub(restartFrom).Round(10*time.Millisecond), slots, missed, twice)
	// streamLeader is "" as well when the stream's info request fails or
	// times out (3 s), as it can on a loaded machine while the restarted
	// server catches up: a stream left without a leader stays so.
	if !waitUntil(15*time.Second, func() bool { return streamLeader(ctx, js, wire.MetricsStream) != "" }) {
		t.Errorf("the metrics stream has no leader 15 s after the restart")
	}
	var sinkMissed, sinkTwice, lines, repeats int
	sink := newSinkReader(t, sinkPath)
	waitUntil(30*time.Second, func() bool {
		var count map[string]map[int64]int
		count, lines, repeats = sinkSlots(t, sink, e2eInterval)
		slots, sinkMissed, sinkTwice = tallySlots(keys, count, restartFrom, restartTo, e2eInterval)
		return sinkMissed == 0
	})
	t.Logf("file sink on n1 over the restart: %d device-intervals, %d lost, %d written more than once; file has %d lines, %d exact repeats",
		slots, sinkMissed, sinkTwice, lines, repeats)
	if missed+sinkMissed != 0 || twice > maxRaced {
		explain(restartFrom, restartTo)
		t.Logf("the nodes skipped %d checks as overruns over the restart (%s)", skipped, overrunMetric)
	}
	// The sink (the stream) is the guarantee. The bus observer is core NATS,
	// at most once while a server restarts and routes reconnect: a
	// device-interval it missed but the sink holds was polled and stored
	// (seen once in CI: one coalesced message of 5 statuses unobserved,
	// all 5 in the file).
	switch {
	case sinkMissed > skipped:
		t.Errorf("%d of %d device-intervals polled during the restart never reached the sink (%d not observed on the bus; %d checks skipped as overruns)", sinkMissed, slots, missed, skipped)
	case sinkMissed != 0:
		t.Logf("%d device-intervals missing from the sink, no more than the %d checks the nodes skipped as overruns (not polled, counted): load, not the handover", sinkMissed, skipped)
	case missed != 0:
		t.Logf("%d device-intervals not observed on the bus are all in the sink: an observer gap, not a lost poll", missed)
	}
	if twice > maxRaced {
		t.Errorf("%d checks ran twice during the graceful restart; want at most %d racing the handovers", twice, maxRaced)
	}
	before := matchOwners("after the restart", back.Add(e2eInterval), restartTo, "n1", "n2", "n3")

	// 3. A fourth process joins: it takes about 1/4, nothing else moves.
	// It is a client of the three servers (bus.url), as TOPOLOGY.md adds
	// pollers: the JetStream cluster stays three servers, so its quorum
	// (2 of 3) still holds when one is killed below; a fourth routed server
	// would only add a peer to the meta group without adding replicas.
	n4 := writeClusterConfig(t, clusterNodeConfig{id: "n4", dir: dir, csvPath: csvPath, interval: e2eInterval, url: strings.Join(urls, ",")})
	byID["n4"] = n4
	knownPubs = slices.Collect(maps.Keys(pubNode))
	joinedAt := time.Now()
	n4.start(t)
	var n4pub string
	var first time.Time
	waitFor(t, "n4 ready and polling", 60*time.Second, n4.p, func() bool {
		n4pub, first = newPublisher(obs, knownPubs, joinedAt)
		return n4.ready() && n4pub != ""
	})
	afterTo := first.Add(3 * e2eInterval)
	time.Sleep(time.Until(afterTo.Add(e2eInterval)))
	after := matchOwners("after n4 joined", first.Add(e2eInterval), afterTo, "n1", "n2", "n3", "n4")
	took, movedOther := 0, 0
	for _, k := range keys {
		switch {
		case after[k] == before[k]:
		case after[k] == n4pub:
			took++
		default:
			movedOther++
		}
	}
	slots, missed, twice = obs.tally(keys, joinedAt, afterTo)
	share := float64(took) / float64(len(keys))
	t.Logf("n4 joined (bus.url client): took %d of %d devices (share %.2f, ideal 0.25), %d moved between the old nodes; %d device-intervals, %d missed, %d polled twice",
		took, len(keys), share, movedOther, slots, missed, twice)
	if share < 0.15 || share > 0.35 {
		t.Errorf("n4 took a share of %.2f, want about 1/4", share)
	}
	if movedOther != 0 {
		t.Errorf("%d devices moved between the old nodes when n4 joined", movedOther)
	}
	if missed != 0 || twice > maxRaced {
		explain(joinedAt, afterTo)
		t.Errorf("join: %d intervals missed, %d polled twice; want none missed and at most %d racing the membership update", missed, twice, maxRaced)
	}

	// 2. kill -9 of the process whose server leads the membership bucket:
	// its server dies too, the bucket elects a new leader, and the others
	// take its devices.
	var victim *clusterNode
	membersLeader := streamLeader(ctx, js, "KV_"+cluster.MembersBucket)
	if victim = serverOf[membersLeader]; victim == nil {
		victim = nodes[1]
	}
	what := []string{}
	if membersLeader == victim.serverName(t) {
		what = append(what, "membership bucket")
	}
	if serverOf[streamLeader(ctx, js, wire.MetricsStream)] == victim {
		what = append(what, "metrics stream")
	}
	if siteLeader(ctx, js) == victim.id {
		what = append(what, "site (discovery)")
	}
	victimPub := curPub[victim.id]
	var victimKeys []string
	for k, pub := range after {
		if pub == victimPub {
			victimKeys = append(victimKeys, k)
		}
	}
	if len(victimKeys) == 0 {
		t.Fatalf("victim %s polls no device", victim.id)
	}
	killedAt := time.Now()
	victim.p.kill()
	var recovered time.Duration
	for _, k := range victimKeys {
		var e pollEvent
		if !waitUntil(time.Until(killedAt.Add(25*time.Second)), func() (ok bool) { e, ok = obs.firstAfter(k, killedAt); return ok }) {
			t.Fatalf("device %s of the killed %s not polled 25s after the kill", k, victim.id)
		}
		recovered = max(recovered, e.at.Sub(killedAt))
	}
	// From the last device's recovery on, every device is polled again
	// every interval, by one node.
	recoveredAt := killedAt.Add(recovered)
	killTo := recoveredAt.Add(3 * e2eInterval)
	time.Sleep(time.Until(killTo.Add(e2eInterval)))
	slots, missed, twice = obs.tally(keys, killedAt, killTo)
	t.Logf("kill -9 of %s (%d devices; leader of %v): recovered in %s (max over its devices); %d device-intervals, %d missed, %d polled twice",
		victim.id, len(victimKeys), what, recovered.Round(10*time.Millisecond), slots, missed, twice)
	if recovered > 15*time.Second {
		t.Errorf("the killed node's devices were polled again after %s, want ≤ 15s", recovered)
	}
	if twice != 0 {
		explain(killedAt, killTo)
		t.Errorf("%d checks ran twice after the kill", twice)
	}
	slots, missed, twice = obs.tally(keys, recoveredAt, killTo)
	t.Logf("after the recovery: %d device-intervals, %d missed, %d polled twice", slots, missed, twice)
	if missed != 0 {
		explain(recoveredAt, killTo)
		t.Errorf("%d device-intervals missed after the recovery", missed)
	}
	var alive []string
	for id, n := range byID {
		if n != victim {
			alive = append(alive, id)
		}
	}
	matchOwners("after the kill", recoveredAt.Add(e2eInterval), killTo, alive...)

	obs.mu.Lock()
	if len(obs.bad) > 0 {
		t.Errorf("%d status messages did not decode, first: %s", len(obs.bad), obs.bad[0])
	}
	obs.mu.Unlock()
	t.Logf("cluster test ran %s", time.Since(began).Round(100*time.Millisecond))
}

// newPublisher is a publisher not in known that checked something since
// t, and its first check ("" and zero when there is none).
func newPublisher(obs *pollLog, known []string, t time.Time) (string, time.Time) {
	obs.mu.Lock()
	defer obs.mu.Unlock()
	pub, first := "", time.Time{}
	for _, evs := range obs.events {
		for _, e := range evs {
			if !e.at.Before(t) && !slices.Contains(known, e.pub) && (pub == "" || e.pub == pub) {
				if pub == "" || e.at.Before(first) {
					pub, first = e.pub, e.at
				}
			}
		}
	}
	return pub, first
}

// siteLeader is the node holding the site's leader key.
func siteLeader(ctx context.Context, js jetstream.JetStream) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, cluster.LeadersBucket)
	if err != nil {
		return ""
	}
	e, err := kv.Get(ctx, cluster.LeaderKey(clusterSite))
	if err != nil {
		return ""
	}
	var l cluster.Leader
	if json.Unmarshal(e.Value(), &l) != nil {
		return ""
	}
	return l.ID
}
