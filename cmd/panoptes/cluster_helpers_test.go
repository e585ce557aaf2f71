package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/phase"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// clusterSite is the site of every node and device of the cluster tests.
const clusterSite = "lab"

// clusterNode is one `panoptes run` process of the cluster tests and what
// the test knows about it: its config, its data dir, its HTTP and client
// addresses, and the process of its current life.
type clusterNode struct {
	id        string
	dataDir   string
	cfgPath   string
	httpAddr  string
	clientURL string // its embedded server's client URL; "" when it uses bus.url
	p         *proc
}

// clusterNodeConfig is what differs between the nodes' configs.
type clusterNodeConfig struct {
	id, dir, csvPath string
	interval         time.Duration
	// Embedded clustered server: client and route listen addresses and the
	// routes to every server. Or url: the external servers.
	clientListen, routeListen string
	routes                    []string
	url                       string
	sinkPath                  string // a file sink, "" for none
	sinkName                  string // the file sink's name ("" for the default)
	partitions                int    // bus.partitions (0: unset)
}

func writeClusterConfig(t *testing.T, c clusterNodeConfig) *clusterNode {
	t.Helper()
	n := &clusterNode{id: c.id, dataDir: filepath.Join(c.dir, c.id), cfgPath: filepath.Join(c.dir, c.id+".yaml"), httpAddr: freeTCP(t)}
	var b strings.Builder
	fmt.Fprintf(&b, "site: %s\ndata_dir: %s\nhttp: {listen: %s}\ncluster: {node_id: %s}\n", clusterSite, n.dataDir, n.httpAddr, c.id)
	b.WriteString("bus:\n  replicas: 3\n  max_bytes: 256MiB\n  connect_retry: 60s\n")
	if c.partitions > 0 {
		fmt.Fprintf(&b, "  partitions: %d\n", c.partitions)
	}
	if c.url != "" {
		fmt.Fprintf(&b, "  url: %q\n", c.url)
	} else {
		n.clientURL = "nats://" + c.clientListen
		fmt.Fprintf(&b, "  listen: %s\n  cluster:\n    name: panoptes-e2e\n    listen: %s\n    routes: [%s]\n",
			c.clientListen, c.routeListen, strings.Join(c.routes, ", "))
	}
	fmt.Fprintf(&b, `discovery:
  interval: 10s
  sources: [{plugin: csv, path: %s}]
snmp:
  credential: sim
  credentials: {sim: {version: 2c, community: public}}
  timeout: 500ms
  retries: 0
polling:
  plugins: [{name: uptime, interval: %s}]
`, c.csvPath, c.interval)
	if c.sinkPath != "" {
		name := ""
		if c.sinkName != "" {
			name = "name: " + c.sinkName + ", "
		}
		fmt.Fprintf(&b, "sinks:\n  - {%stype: file, path: %s}\n", name, c.sinkPath)
	}
	writeFile(t, n.cfgPath, b.String())
	return n
}

func (n *clusterNode) start(t *testing.T) { t.Helper(); n.p = startRun(t, n.cfgPath) }

// ready reports whether the node answers /readyz with 200.
func (n *clusterNode) ready() bool {
	code, _ := httpGet("http://" + n.httpAddr + "/readyz")
	return code == 200
}

// gauge reads an unlabelled self-metric from the node's /metrics (-1 when
// it cannot be read).
func (n *clusterNode) gauge(name string) float64 {
	code, body := httpGet("http://" + n.httpAddr + "/metrics")
	if code != 200 {
		return -1
	}
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// counter sums a self-metric's series over its labels from the node's
// /metrics (-1 when it cannot be read).
func (n *clusterNode) counter(name string) float64 {
	code, body := httpGet("http://" + n.httpAddr + "/metrics")
	if code != 200 {
		return -1
	}
	// name may carry label matchers: metric{k="v",...} sums the series
	// that have each of them.
	name, matchers, _ := strings.Cut(name, "{")
	sum := 0.0
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		labels, _, _ := strings.Cut(rest, "}")
		if !hasLabels(labels, strings.TrimSuffix(matchers, "}")) {
			continue
		}
		if i := strings.LastIndexByte(rest, ' '); i >= 0 {
			if v, err := strconv.ParseFloat(strings.TrimSpace(rest[i+1:]), 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// hasLabels reports whether a series' labels (`{k="v",...`) hold every
// matcher of matchers (`k="v",...`, or none).
func hasLabels(labels, matchers string) bool {
	if matchers == "" {
		return true
	}
	labels = strings.TrimPrefix(labels, "{")
	have := strings.Split(labels, ",")
	for m := range strings.SplitSeq(matchers, ",") {
		if !slices.Contains(have, m) {
			return false
		}
	}
	return true
}

// serverName is the embedded NATS server's name, kept in its data dir.
func (n *clusterNode) serverName(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dataDir, "nats", "server_name"))
	if err != nil {
		t.Fatalf("node %s: %v", n.id, err)
	}
	return strings.TrimSpace(string(b))
}

// pollEvent is one check seen on the bus: when it started and which bus
// instance (process life) published it.
type pollEvent struct {
	at  time.Time
	pub string
}

// pollLog records every status group published for the site, seen through
// one subscriber per server (each able to reconnect to the others), so that
// no observation is lost when one server dies. Messages are deduplicated by
// their Nats-Msg-Id, whose prefix is unique to the publishing process's bus.
type pollLog struct {
	interval time.Duration

	mu     sync.Mutex
	ids    map[string]struct{}
	events map[string][]pollEvent // resource key → checks, in arrival order
	bad    []string               // undecodable messages
}

func newPollLog(interval time.Duration) *pollLog {
	return &pollLog{interval: interval, ids: map[string]struct{}{}, events: map[string][]pollEvent{}}
}

// observe connects one subscriber per URL (that URL first, then the others)
// and records status groups until the test ends.
func (l *pollLog) observe(t *testing.T, urls []string) []*nats.Conn {
	t.Helper()
	var conns []*nats.Conn
	for i := range urls {
		order := append(slices.Clone(urls[i:]), urls[:i]...)
		nc, err := nats.Connect(strings.Join(order, ","), nats.DontRandomize(), nats.MaxReconnects(-1),
			nats.ReconnectWait(100*time.Millisecond), nats.Timeout(2*time.Second), nats.RetryOnFailedConnect(true))
		if err != nil {
			t.Fatalf("observer: connect %s: %v", order[0], err)
		}
		t.Cleanup(nc.Close)
		sub, err := nc.Subscribe(wire.MetricsPrefix+">", l.record)
		if err != nil {
			t.Fatalf("observer: subscribe: %v", err)
		}
		_ = sub.SetPendingLimits(-1, -1)
		conns = append(conns, nc)
	}
	return conns
}

func (l *pollLog) record(m *nats.Msg) {
	if m.Subject != wire.MetricsSubject(clusterSite, "status") {
		return
	}
	id := m.Header.Get(jetstream.MsgIDHeader)
	pub, _, _ := strings.Cut(id, "-")
	groups, err := wire.Decode(m.Data)
	l.mu.Lock()
	defer l.mu.Unlock()
	if id != "" {
		if _, dup := l.ids[id]; dup {
			return
		}
		l.ids[id] = struct{}{}
	}
	if err != nil {
		l.bad = append(l.bad, err.Error())
		return
	}
	for _, g := range groups {
		l.events[g.Resource.Key()] = append(l.events[g.Resource.Key()], pollEvent{at: epochTime(g.CreationTimestamp), pub: pub})
	}
}

func epochTime(sec float64) time.Time {
	s, frac := math.Modf(sec)
	return time.Unix(int64(s), int64(frac*1e9))
}

// keys returns every resource seen so far.
func (l *pollLog) keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.events))
	for k := range l.events {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// slot is the due time's index of a check of key started at: due times are
// the check's phase plus whole intervals (phase.Of). A check starts
// at or after its due time, so it counts for the last due time before it
// (a twentieth of an interval of slack for clocks): one started late on a
// starved machine still counts for its own due time, up to the next one.
func slot(key string, at time.Time, interval time.Duration) int64 {
	return checkSlot("uptime|"+key, at, interval)
}

// checkSlot is slot for the scheduler's check key (plugin|resource key).
func checkSlot(check string, at time.Time, interval time.Duration) int64 {
	phase := int64(phase.Of(check, interval))
	return (at.UnixNano() - phase + int64(interval)/20) / int64(interval)
}

// slotRange is the slots of key due in [from, to).
func slotRange(key string, from, to time.Time, interval time.Duration) (first, end int64) {
	iv, phase := int64(interval), int64(phase.Of("uptime|"+key, interval))
	first = (from.UnixNano() - phase + iv - 1) / iv
	end = (to.UnixNano() - phase + iv - 1) / iv
	return first, end
}

// tallySlots counts, over every due time of [from, to) of every key, those
// with no check and those with more than one, given each key's slot counts.
func tallySlots(keys []string, count map[string]map[int64]int, from, to time.Time, interval time.Duration) (slots, missed, twice int) {
	for _, k := range keys {
		first, end := slotRange(k, from, to, interval)
		for s := first; s < end; s++ {
			slots++
			switch c := count[k][s]; {
			case c == 0:
				missed++
			case c > 1:
				twice++
			}
		}
	}
	return slots, missed, twice
}

// tally counts the device-intervals of [from, to), those polled by nobody
// and those polled more than once, as seen on the bus.
func (l *pollLog) tally(keys []string, from, to time.Time) (slots, missed, twice int) {
	l.mu.Lock()
	count := map[string]map[int64]int{}
	for _, k := range keys {
		count[k] = map[int64]int{}
		for _, e := range l.events[k] {
			count[k][slot(k, e.at, l.interval)]++
		}
	}
	l.mu.Unlock()
	return tallySlots(keys, count, from, to, l.interval)
}

// explain logs, for up to max device-intervals of [from, to) polled by
// nobody or more than once, the checks around it and who ran them.
func (l *pollLog) explain(t *testing.T, keys []string, from, to time.Time, name func(pub string) string, max int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		count := map[int64]int{}
		for _, e := range l.events[k] {
			count[slot(k, e.at, l.interval)]++
		}
		first, end := slotRange(k, from, to, l.interval)
		for s := first; s < end; s++ {
			if count[s] == 1 {
				continue
			}
			if max--; max < 0 {
				return
			}
			due := time.Unix(0, s*int64(l.interval)+int64(phase.Of("uptime|"+k, l.interval)))
			var around []string
			for _, e := range l.events[k] {
				if d := e.at.Sub(due); d > -3*l.interval && d < 3*l.interval {
					around = append(around, fmt.Sprintf("%s by %s", e.at.Format("15:04:05.000"), name(e.pub)))
				}
			}
			t.Logf("  %s due %s: %d checks; checks around: %v", k, due.Format("15:04:05.000"), count[s], around)
		}
	}
}

// publishers maps each key to the publishers of its checks started in
// [from, to).
func (l *pollLog) publishers(from, to time.Time) map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for k, evs := range l.events {
		for _, e := range evs {
			if !e.at.Before(from) && e.at.Before(to) && !slices.Contains(out[k], e.pub) {
				out[k] = append(out[k], e.pub)
			}
		}
	}
	return out
}

// owners maps each key to the single publisher of its checks in [from, to);
// a key polled by several publishers, or by none, fails the test.
func (l *pollLog) owners(t *testing.T, keys []string, from, to time.Time) map[string]string {
	t.Helper()
	pubs := l.publishers(from, to)
	out := make(map[string]string, len(keys))
	bad := 0
	for _, k := range keys {
		if len(pubs[k]) != 1 {
			if bad++; bad <= 5 {
				t.Errorf("device %s was polled by %d processes between %s and %s, want exactly one",
					k, len(pubs[k]), from.Format("15:04:05.000"), to.Format("15:04:05.000"))
			}
			continue
		}
		out[k] = pubs[k][0]
	}
	return out
}

// firstAfter is the first check of key started at or after t.
func (l *pollLog) firstAfter(key string, t time.Time) (pollEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best pollEvent
	found := false
	for _, e := range l.events[key] {
		if !e.at.Before(t) && (!found || e.at.Before(best.at)) {
			best, found = e, true
		}
	}
	return best, found
}

// sinkSlots reads the file sink's status groups: how many times each
// (key, slot) was written, and how many lines were exact repeats (a batch
// delivered again).
func sinkSlots(t *testing.T, sink *sinkReader, interval time.Duration) (count map[string]map[int64]int, lines, repeats int) {
	t.Helper()
	groups, ls := sink.read(t)
	count = map[string]map[int64]int{}
	seen := map[string]bool{}
	for i, g := range groups {
		if seen[ls[i]] {
			repeats++
		}
		seen[ls[i]] = true
		if g.Type != "status" || g.Resource.Site != clusterSite {
			continue
		}
		k := g.Resource.Key()
		if count[k] == nil {
			count[k] = map[int64]int{}
		}
		count[k][slot(k, epochTime(g.CreationTimestamp), interval)]++
	}
	return count, len(ls), repeats
}

// streamLeader is the server leading a stream (a KV bucket's stream is
// KV_<bucket>), "" when unknown.
func streamLeader(ctx context.Context, js jetstream.JetStream, stream string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	if ci := s.CachedInfo(); ci.Cluster != nil {
		return ci.Cluster.Leader
	}
	return ""
}

// stepDown asks a stream's leader to hand leadership to another replica.
func stepDown(nc *nats.Conn, stream string) error {
	_, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 5*time.Second)
	return err
}

// waitUntil polls cond every 100ms for at most d; false when it never held.
func waitUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
