package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// partitionsE2E is the partition count of TestClusterPartitions: 3 per
// server, as docs/TOPOLOGY.md advises.
const partitionsE2E = 9

// TestClusterPartitions runs three `panoptes run` processes whose embedded
// servers form a 3-server JetStream cluster with bus.partitions: 9 and
// replicas 3, polling 300 simulated devices every 2 s. Two of them (n1, n2)
// run the same file sink ("files"), each writing its own file:
//
//   - the 9 streams exist, each with a leader, and every partition has the
//     sink's durable; the two instances split the partitions (no device in
//     both files);
//   - kill -9 of n2 (a server and a sink instance): every partition keeps a
//     leader and takes new messages (R3), n1 takes n2's partitions over, the
//     devices polled by the survivors miss no interval in the files, and
//     every group the streams hold is in the files (0 lost; a group written
//     twice is at-least-once redelivery), each series in order in each file.
func TestClusterPartitions(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs three panoptes processes (a 3-server NATS cluster, 9 partitions) and 300 simulated devices")
	}
	binary(t) // build first: the build is not the cluster's time
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	if keep := os.Getenv("PANOPTES_E2E_KEEP"); keep != "" {
		dir = keep // kept for a look after the test
	}

	csvPath := simFarm(t, dir, e2eDevices, "switch48")

	var clientListen, routeListen, routes []string
	for range 3 {
		clientListen = append(clientListen, freeport.Addr(freeport.TCP(t)))
		r := freeport.Addr(freeport.TCP(t))
		routeListen = append(routeListen, r)
		routes = append(routes, "nats-route://"+r)
	}
	var nodes []*clusterNode
	var urls, files []string
	for i := range 3 {
		c := clusterNodeConfig{id: fmt.Sprintf("n%d", i+1), dir: dir, csvPath: csvPath, interval: e2eInterval,
			clientListen: clientListen[i], routeListen: routeListen[i], routes: routes, partitions: partitionsE2E}
		if i < 2 {
			c.sinkName, c.sinkPath = "files", filepath.Join(dir, "out", c.id+".jsonl")
			files = append(files, c.sinkPath)
		}
		n := writeClusterConfig(t, c)
		n.start(t)
		nodes = append(nodes, n)
		urls = append(urls, n.clientURL)
	}
	n1, n2 := nodes[0], nodes[1]
	var sinks []*sinkReader // the files, followed
	for _, f := range files {
		sinks = append(sinks, newSinkReader(t, f))
	}
	// The test's client prefers n1's server, the survivor's.
	nc, err := nats.Connect(strings.Join(urls, ","), nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	waitFor(t, "3 ready nodes and every device in the files", 90*time.Second, nil, func() bool {
		for _, n := range nodes {
			if !n.p.alive() {
				t.Fatalf("node %s exited: %v", n.id, n.p.err)
			}
			if !n.ready() {
				return false
			}
		}
		return len(devicesIn(t, sinks...)) == e2eDevices
	})
	t.Logf("3 processes clustered, every device in the files %s after start", time.Since(began).Round(100*time.Millisecond))

	streams := partitionStreams(ctx, t, js)
	if len(streams) != partitionsE2E {
		t.Fatalf("metrics streams %v; want %d partitions", streams, partitionsE2E)
	}
	leaders := map[string]int{}
	for _, s := range streams {
		leaders[streamLeader(ctx, js, s)]++
		if _, err := js.Consumer(ctx, s, "sink_files"); err != nil {
			t.Errorf("partition %s has no durable of the sink: %v", s, err)
		}
	}
	t.Logf("partition leaders per server: %v", leaders)
	if leaders[""] > 0 {
		t.Errorf("%d partitions have no leader", leaders[""])
	}

	// The instances split the partitions: no device in both files once
	// both have joined. While they join, a node reads every partition until
	// the others see it, then hands theirs over, and the taker resets the
	// consumer to its ack floor (what the other held unacked comes again):
	// by design a device may be in both files until then, and when that is
	// (the membership watches; a member whose heartbeats a loaded machine
	// delays is handed over and back) is not a fixed time after every
	// device reached the files. So the split is judged on a window of 2
	// intervals of checks, from one interval on: a device in both files
	// there starts a new window after it, for up to splitWithin. Instances
	// that never split (both reading a partition, or one reading none)
	// still fail.
	const splitWindow, splitWithin = 2 * e2eInterval, 45 * time.Second
	settled := time.Now().Add(e2eInterval)
	var in1, in2 map[string]time.Time
	var both []string
	for splitBy := time.Now().Add(splitWithin); ; {
		sleepWatching(t, time.Until(settled.Add(splitWindow)), n1.p, n2.p, nodes[2].p)
		checkedAt := time.Now()
		in1, in2 = devicesSince(t, sinks[0], settled), devicesSince(t, sinks[1], settled)
		both = both[:0]
		for k := range in1 {
			if _, ok := in2[k]; ok {
				both = append(both, k)
			}
		}
		t.Logf("n1's file has %d devices checked since %s, n2's %d, %d in both",
			len(in1), settled.Format("15:04:05.000"), len(in2), len(both))
		if len(in1) > 0 && len(in2) > 0 && len(both) == 0 || checkedAt.After(splitBy) {
			break
		}
		slices.Sort(both)
		for _, k := range both[:min(len(both), 3)] {
			t.Logf("  %s: last check in n1's file at %s, in n2's at %s", k, in1[k].Format("15:04:05.000"), in2[k].Format("15:04:05.000"))
		}
		settled = checkedAt
	}
	if len(in1) == 0 || len(in2) == 0 || len(both) != 0 {
		t.Fatalf("the two instances do not split the partitions within %s: %d devices in n1's file, %d in n2's, %d in both, over the last %s",
			splitWithin, len(in1), len(in2), len(both), splitWindow)
	}

	// kill -9 of n2: a server of the cluster and a sink instance.
	lastBefore := lastSeqs(ctx, t, js, streams)
	var linesAtKill []int // what each file had before the kill
	for _, s := range sinks {
		_, lines := s.read(t)
		linesAtKill = append(linesAtKill, len(lines))
	}
	leaderAtKill := map[string]string{}
	for _, s := range streams {
		leaderAtKill[s] = streamLeader(ctx, js, s)
	}
	killedServer := n2.serverName(t)
	killedAt := time.Now()
	n2.p.kill()
	waitFor(t, "every partition led and taking messages after the kill", 30*time.Second, n1.p, func() bool {
		now := lastSeqs(ctx, t, js, streams)
		for _, s := range streams {
			if now[s] <= lastBefore[s] || streamLeader(ctx, js, s) == "" {
				return false
			}
		}
		return true
	})
	ledAt := time.Now()
	t.Logf("every partition led and taking messages %s after the kill", ledAt.Sub(killedAt).Round(10*time.Millisecond))
	waitFor(t, "n1 to take n2's partitions over", 30*time.Second, n1.p, func() bool {
		after := devicesIn(t, sinks[0])
		for k := range in2 {
			if after[k].Before(killedAt) {
				return false
			}
		}
		return true
	})
	t.Logf("n1 writes n2's partitions %s after the kill", time.Since(killedAt).Round(10*time.Millisecond))
	time.Sleep(2 * e2eInterval)

	// Everything the streams hold up to now is in the files.
	upTo := lastSeqs(ctx, t, js, streams)
	stored, pubOf := storedGroups(ctx, t, js, streams, upTo, settled)
	var missing []string
	var lines, distinct int
	waitUntil(30*time.Second, func() bool {
		var inFiles map[string]bool
		lines, inFiles = fileLines(t, sinks...)
		distinct = len(inFiles)
		missing = missing[:0]
		for g := range stored {
			if !inFiles[g] {
				missing = append(missing, g)
			}
		}
		return len(missing) == 0
	})
	t.Logf("the 9 streams hold %d groups; the files have %d lines, %d distinct (%d written again: at-least-once), %d lost",
		len(stored), lines, distinct, lines-distinct, len(missing))
	if len(missing) > 0 {
		t.Errorf("%d groups the streams hold are in no file (lost), first: %.200s", len(missing), missing[0])
	}

	// The survivors' devices (same publisher before and after the kill)
	// miss no interval: publishing went on through the leaders' failover.
	var kept []string
	for k, pubs := range pubOf {
		if len(pubs) == 1 {
			kept = append(kept, k)
		}
	}
	count := map[string]map[int64]int{}
	for _, s := range sinks {
		c, _, _ := sinkSlots(t, s, e2eInterval)
		for k, m := range c {
			if count[k] == nil {
				count[k] = map[int64]int{}
			}
			for s, n := range m {
				count[k][s] += n
			}
		}
	}
	slots, missed, _ := tallySlots(kept, count, killedAt, time.Now().Add(-3*e2eInterval), e2eInterval)
	t.Logf("the survivors' %d devices over the kill: %d device-intervals, %d missed", len(kept), slots, missed)
	if len(kept) < e2eDevices/2 || missed != 0 {
		t.Errorf("the survivors' devices: %d of %d kept their poller, %d of %d intervals missed in the files", len(kept), e2eDevices, missed, slots)
	}

	// Each series in one partition, and written in that partition's order
	// in each file. A line may come again (at least once): one written
	// already in this file, or in another instance's file before the kill
	// (the dead one's last acks may not have reached the consumer's new
	// leader, which delivers those messages again).
	for i, f := range files {
		written := map[string]bool{}
		for j, other := range sinks {
			if j != i {
				_, lines := other.read(t)
				for _, l := range lines[:min(len(lines), linesAtKill[j])] {
					written[l] = true
				}
			}
		}
		before, after, err := seriesInStreamOrder(t, sinks[i], stored, written, linesAtKill[i])
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		if len(before) > 0 {
			t.Errorf("%s: %d series out of order before the kill, first: %s", filepath.Base(f), len(before), strings.Join(before[:min(len(before), 5)], "; "))
		}
		if len(after) > 0 {
			t.Errorf("%s: %d groups written after a newer one of their series after the kill, first: %s",
				filepath.Base(f), len(after), strings.Join(after[:min(len(after), 3)], "; "))
		}
	}
	// The order the publishers stored (docs/TOPOLOGY.md): a device's
	// checks in creation order, except a check whose publish ack did not
	// come while its partition's leader (on the killed server) failed
	// over: it is sent again from the node's buffer, after a newer one.
	late := creationOrder(stored, settled)
	retried := 0
	for _, l := range late {
		switch {
		case l.newer.Before(killedAt):
			t.Errorf("%s stored a check made at %s after one made at %s, before the kill", l.stream, l.older.Format(time.StampMilli), l.newer.Format(time.StampMilli))
		case leaderAtKill[l.stream] != killedServer || !l.older.Before(ledAt):
			t.Errorf("%s (leader at the kill %s; killed %s) stored a check made at %s after one made at %s: not a publish retried over the failover",
				l.stream, leaderAtKill[l.stream], killedServer, l.older.Format(time.StampMilli), l.newer.Format(time.StampMilli))
		default:
			retried++
		}
	}
	t.Logf("series stored out of creation order: %d, all publishes retried over the failover of a partition led by the killed server", retried)
	t.Logf("partitions test ran %s", time.Since(began).Round(100*time.Millisecond))
}

// partitionStreams are the metrics streams (PANOPTES_METRICS*), sorted.
func partitionStreams(ctx context.Context, t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var out []string
	names := js.StreamNames(ctx, jetstream.WithStreamListSubject(wire.AllMetrics))
	for n := range names.Name() {
		out = append(out, n)
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// lastSeqs is each stream's last sequence (0 when it cannot be read now).
func lastSeqs(ctx context.Context, t *testing.T, js jetstream.JetStream, streams []string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, name := range streams {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if s, err := js.Stream(cctx, name); err == nil {
			out[name] = s.CachedInfo().State.LastSeq
		}
		cancel()
	}
	return out
}

// streamPos is where a group is stored: its message's stream and sequence.
type streamPos struct {
	stream string
	seq    uint64
}

// storedGroups reads every stream up to upTo: the groups it holds (as the
// file sink writes them, one line each) and where, and per device the publishers
// (process lives: the Msg-Id prefix) of its status groups created since.
func storedGroups(ctx context.Context, t *testing.T, js jetstream.JetStream, streams []string, upTo map[string]uint64, since time.Time) (map[string]streamPos, map[string]map[string]bool) {
	t.Helper()
	groups := map[string]streamPos{}
	pubOf := map[string]map[string]bool{}
	for _, name := range streams {
		if upTo[name] == 0 {
			t.Fatalf("stream %s: last sequence unknown", name)
		}
		var msgs []jetstream.Msg
		var err error
		// The JetStream API may not answer for a moment after the kill.
		waitUntil(30*time.Second, func() bool {
			msgs, err = readStream(ctx, js, name, upTo[name])
			return err == nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		for _, m := range msgs {
			md, _ := m.Metadata()
			pub, _, _ := strings.Cut(m.Headers().Get(jetstream.MsgIDHeader), "-")
			for data := range wire.Groups(m.Data()) {
				if prev, ok := groups[string(data)]; ok {
					t.Logf("a group stored twice: %s seq %d and %s seq %d: %.160s", prev.stream, prev.seq, name, md.Sequence.Stream, data)
					continue
				}
				groups[string(data)] = streamPos{name, md.Sequence.Stream}
				g, err := metric.Decode(data)
				if err != nil {
					t.Fatalf("stream %s seq %d: %v", name, md.Sequence.Stream, err)
				}
				if g.Type == "status" && !epochTime(g.CreationTimestamp).Before(since) {
					k := g.Resource.Key()
					if pubOf[k] == nil {
						pubOf[k] = map[string]bool{}
					}
					pubOf[k][pub] = true
				}
			}
		}
	}
	return groups, pubOf
}

// readStream reads a stream's messages up to sequence upTo.
func readStream(ctx context.Context, js jetstream.JetStream, name string, upTo uint64) ([]jetstream.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []jetstream.Msg
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			if md.Sequence.Stream > upTo {
				return out, nil
			}
			out = append(out, m)
			if md.Sequence.Stream == upTo {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil && n == 0 {
			return nil, err
		}
	}
}

// devicesIn is every device with a status group in the files, and the
// creation time of its latest.
func devicesIn(t *testing.T, sinks ...*sinkReader) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, s := range sinks {
		groups, _ := s.read(t)
		for _, g := range groups {
			if g.Type == "status" {
				at := epochTime(g.CreationTimestamp)
				if at.After(out[g.Resource.Key()]) {
					out[g.Resource.Key()] = at
				}
			}
		}
	}
	return out
}

// devicesSince is every device with a status group created since from in
// the file.
func devicesSince(t *testing.T, sink *sinkReader, from time.Time) map[string]time.Time {
	t.Helper()
	out := devicesIn(t, sink)
	for k, at := range out {
		if at.Before(from) {
			delete(out, k)
		}
	}
	return out
}

// fileLines counts the files' lines and returns the distinct ones.
func fileLines(t *testing.T, sinks ...*sinkReader) (int, map[string]bool) {
	t.Helper()
	n, distinct := 0, map[string]bool{}
	for _, s := range sinks {
		_, lines := s.read(t)
		n += len(lines)
		for _, l := range lines {
			distinct[l] = true
		}
	}
	return n, distinct
}

// seriesInStreamOrder checks that every series of the file (a device's
// group type: no dimensions here) is stored in one partition (err) and
// lists the groups the file has out of stream order, among its first
// split lines and after: a line may come again (redelivery; written holds
// what other instances wrote), a new one should never come after one
// stored later. Lines stored after the snapshot are not judged.
func seriesInStreamOrder(t *testing.T, sink *sinkReader, stored map[string]streamPos, written map[string]bool, split int) (before, after []string, err error) {
	t.Helper()
	groups, lines := sink.read(t)
	seen := maps.Clone(written)
	last := map[string]streamPos{}
	for i, g := range groups {
		pos, ok := stored[lines[i]]
		if seen[lines[i]] || !ok {
			continue
		}
		seen[lines[i]] = true
		k := g.Resource.Key() + "|" + g.Type
		prev, ok := last[k]
		switch {
		case ok && prev.stream != pos.stream:
			if err == nil {
				err = fmt.Errorf("series %s in two partitions: %s and %s", k, prev.stream, pos.stream)
			}
		case ok && pos.seq <= prev.seq:
			bad := fmt.Sprintf("%s: %s seq %d written after seq %d (line %d)", k, pos.stream, pos.seq, prev.seq, i+1)
			if i < split {
				before = append(before, bad)
			} else {
				after = append(after, bad)
			}
		}
		if !ok || pos.seq > prev.seq {
			last[k] = pos
		}
	}
	return before, after, err
}

// lateCheck is a series stored out of creation order: in stream, a group
// made at older stored after one made at newer.
type lateCheck struct {
	stream       string
	older, newer time.Time
}

// creationOrder lists, per series whose stream order is not its creation
// order, its first such pair, among groups created from since (before it,
// while the nodes join, two may poll a device in one interval).
func creationOrder(stored map[string]streamPos, since time.Time) []lateCheck {
	type entry struct {
		pos streamPos
		at  float64
	}
	series := map[string][]entry{}
	for line, pos := range stored {
		g, err := metric.Decode([]byte(line))
		if err != nil {
			continue
		}
		if epochTime(g.CreationTimestamp).Before(since) {
			continue
		}
		k := g.Resource.Key() + "|" + g.Type
		series[k] = append(series[k], entry{pos, g.CreationTimestamp})
	}
	var out []lateCheck
	for _, es := range series {
		slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.pos.seq, b.pos.seq) })
		for i := 1; i < len(es); i++ {
			if es[i].at < es[i-1].at {
				out = append(out, lateCheck{es[i].pos.stream, epochTime(es[i].at), epochTime(es[i-1].at)})
				break
			}
		}
	}
	return out
}
