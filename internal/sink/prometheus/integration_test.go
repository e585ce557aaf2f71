package prometheus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
	"github.com/panoptes-go/panoptes/internal/testutil/promserver"
	"github.com/panoptes-go/panoptes/internal/websec"
)

// expectedSeries maps "name|interface_name" of every series of groups to
// its labels (without Prometheus' own) and exact value text.
func expectedSeries(groups []*metric.Group) map[string]promserver.Sample {
	out := map[string]promserver.Sample{}
	for _, g := range groups {
		ls, err := appendGroupLabels(nil, g)
		if err != nil {
			panic(err)
		}
		for _, m := range g.Metrics {
			name := string(appendName(nil, g.Type, m.Name, m.Type))
			labels := map[string]string{"__name__": name}
			for _, l := range ls {
				labels[l.name] = l.value
			}
			out[name+"|"+g.Dimension("interface_name")] = promserver.Sample{Labels: labels, Value: m.Value.String()}
		}
	}
	return out
}

// checkAgainst compares a query result with the groups' series; extra are
// labels Prometheus adds (job, instance on scrapes).
func checkAgainst(t *testing.T, got []promserver.Sample, groups []*metric.Group, extra map[string]string) {
	t.Helper()
	want := expectedSeries(groups)
	if len(got) != len(want) {
		t.Fatalf("%d series in Prometheus, want %d", len(got), len(want))
	}
	for _, s := range got {
		key := s.Labels["__name__"] + "|" + s.Labels["interface_name"]
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected series %v", s.Labels)
		}
		labels := maps.Clone(w.Labels)
		maps.Copy(labels, extra)
		if !maps.Equal(s.Labels, labels) {
			t.Errorf("%s labels\n got %v\nwant %v", key, s.Labels, labels)
		}
		if s.Value != w.Value {
			t.Errorf("%s = %s, want %s", key, s.Value, w.Value)
		}
	}
}

// checkTimestamps checks that Prometheus stored the device's time.
func checkTimestamps(t *testing.T, prom *promserver.Server, selector string, ts time.Time, n int) {
	t.Helper()
	got, err := prom.Query(context.Background(), "timestamp("+selector+")")
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', -1, 64)
	if len(got) != n {
		t.Fatalf("timestamp(%s): %d results, want %d", selector, len(got), n)
	}
	for _, s := range got {
		if s.Value != want {
			t.Fatalf("timestamp(%s) = %s, want the metric's creation time %s", selector, s.Value, want)
		}
	}
}

// TestRemoteWriteToPrometheus writes a 48-port switch and a CPU group to a
// real Prometheus' remote-write receiver and queries every series back;
// then shows that a redelivered batch is accepted and that an out-of-order
// sample is rejected alone while the rest of its batch is stored.
func TestRemoteWriteToPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	prom := promserver.StartPrometheus(t, nil)
	w := newTestRemoteWrite(t, Config{URL: prom.RemoteWriteURL(), Headers: map[string]string{"X-Test": "1"}}, nil)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	sw1 := device("dc1", "sw1")
	groups := append(interfaceGroups(sw1, 48, 0, now.Add(-time.Minute)), cpuGroup(sw1, 37.25, now.Add(-time.Minute)))
	if err := w.Write(ctx, records(groups...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := prom.Query(ctx, `{__name__=~"panoptes_.+", resource_id="sw1"}`)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, got, groups, nil)
	checkTimestamps(t, prom, `panoptes_interface_bits_in_total{resource_id="sw1"}`, now.Add(-time.Minute), 48)

	// At-least-once delivery: the same batch again is fine.
	if err := w.Write(ctx, records(groups...)); err != nil {
		t.Fatalf("redelivered batch: %v", err)
	}

	// Next poll of sw1 with one group older than what Prometheus has, and
	// a new device: only the stale group is rejected.
	newer := interfaceGroups(sw1, 2, 1, now)
	old := interfaceGroups(sw1, 1, 7, now.Add(-2*time.Minute))[0]
	sw2 := interfaceGroups(device("dc1", "sw2"), 3, 0, now)
	batch := append(append(newer, old), sw2...)
	err = w.Write(ctx, records(batch...))
	var rej *sink.Rejected
	if !errors.As(err, &rej) || len(rej.Reasons) != 1 || rej.Reasons[2] == nil {
		t.Fatalf("Write with an out-of-order group = %v, want record 2 rejected", err)
	}
	t.Logf("rejected as expected: %v", rej.Reasons[2])
	got, err = prom.Query(ctx, `{__name__=~"panoptes_.+", resource_id="sw2"}`)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, got, sw2, nil)
	got, err = prom.Query(ctx, `panoptes_interface_bits_in_total{resource_id="sw1", interface_name="GigabitEthernet1/0/1"}`)
	if err != nil || len(got) != 1 || got[0].Value != fmt.Sprint(counterValue(0, 0, 1)) {
		t.Fatalf("sw1 port 1 after the newer poll: %v %v, want %d", got, err, counterValue(0, 0, 1))
	}
}

// TestExpositionScrapedByPrometheus has a real Prometheus scrape the
// exposition endpoint and queries every series back with its device time.
func TestExpositionScrapedByPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	promserver.Need(t)
	e := newTestExposition(t, Config{Listen: "127.0.0.1:0"})
	now := time.Now().Truncate(time.Millisecond)
	sw1 := device("dc1", "sw1")
	groups := append(interfaceGroups(sw1, 48, 0, now), cpuGroup(sw1, 37.25, now))
	if err := e.Write(context.Background(), records(groups...)); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	prom := promserver.StartPrometheus(t, []string{addr})
	got := prom.WaitQuery(t, `{__name__=~"panoptes_.+", resource_id="sw1"}`,
		func(r []promserver.Sample) bool { return len(r) >= 48*18+1 }, 20*time.Second)
	checkAgainst(t, got, groups, map[string]string{"job": "target0", "instance": addr})
	checkTimestamps(t, prom, `panoptes_interface_bits_in_total{resource_id="sw1"}`, now, 48)

	up, err := prom.Query(context.Background(), `up{job="target0"}`)
	if err != nil || len(up) != 1 || up[0].Value != "1" {
		t.Fatalf("up = %v %v, want 1", up, err)
	}
	// A new poll shows up at the next scrape.
	next := interfaceGroups(sw1, 1, 1, now.Add(time.Second))
	if err := e.Write(context.Background(), records(next...)); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(counterValue(0, 0, 1))
	prom.WaitQuery(t, `panoptes_interface_bits_in_total{resource_id="sw1", interface_name="GigabitEthernet1/0/1"}`,
		func(r []promserver.Sample) bool { return len(r) == 1 && r[0].Value == want }, 10*time.Second)

	// Staleness: a device polled every second and then never again leaves
	// the exposition after 3 intervals (stale_after 0), so the scrapes
	// shrink back to sw1's series.
	sw9 := interfaceGroups(device("dc1", "sw9"), 1, 0, time.Now())
	sw9[0].Interval = 1
	if err := e.Write(context.Background(), records(sw9...)); err != nil {
		t.Fatal(err)
	}
	base := strconv.Itoa(48*18 + 1)
	with := strconv.Itoa(48*18 + 1 + 18)
	const scraped = `scrape_samples_scraped{job="target0"}`
	prom.WaitQuery(t, scraped, func(r []promserver.Sample) bool { return len(r) == 1 && r[0].Value == with }, 10*time.Second)
	prom.WaitQuery(t, scraped, func(r []promserver.Sample) bool { return len(r) == 1 && r[0].Value == base }, 10*time.Second)
}

// A real Prometheus scrapes the endpoint over TLS with basic auth
// (tls_server_config and basic_auth_users).
func TestExpositionScrapedOverTLSWithAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus")
	}
	promserver.Need(t)
	ca := pki.New(t)
	cert, key := ca.Issue(t, "sink")
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestExposition(t, Config{Config: websec.Config{
		TLS:   websec.TLSConfig{CertFile: cert, KeyFile: key},
		Users: map[string]string{"prometheus": string(hash)},
	}})
	now := time.Now().Truncate(time.Millisecond)
	if err := e.Write(context.Background(), records(interfaceGroups(device("dc1", "sw1"), 2, 0, now)...)); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, e)
	prom := promserver.Start(t, promserver.Options{ScrapeTargets: []string{"https://" + addr + DefaultPath},
		ScrapeAuth: &promserver.ScrapeAuth{Username: "prometheus", Password: "scrape-s3cret", CAFile: ca.CAFile}})
	prom.WaitQuery(t, `panoptes_interface_bits_in_total{resource_id="sw1"}`,
		func(r []promserver.Sample) bool { return len(r) == 2 }, 20*time.Second)
	if up, err := prom.Query(context.Background(), `up{job="target0"}`); err != nil || len(up) != 1 || up[0].Value != "1" {
		t.Errorf("up = %v %v, want 1", up, err)
	}
}
