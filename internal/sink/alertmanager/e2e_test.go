package alertmanager_test

import (
	"context"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/apps/monitor"
	"github.com/panoptes-go/panoptes/internal/apps/tracker"
	"github.com/panoptes-go/panoptes/internal/config"
	_ "github.com/panoptes-go/panoptes/internal/plugins/all" // the bgp polling plugin
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/sink/alertmanager"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/amserver"
	"github.com/panoptes-go/panoptes/internal/testutil/natstest"
)

// TestSimulatedBGPFlap, end to end with real parts: a simulated router's
// BGP session, polled over SNMP by the bgp plugin, seen by the events app
// (monitor and tracker on embedded NATS), published on the events stream
// and read by the alertmanager sink: a real Alertmanager gets an alert when
// the session leaves Established and has it resolved when it returns.
func TestSimulatedBGPFlap(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: simulated devices, NATS, Alertmanager")
	}
	am := amserver.Start(t)
	ctx := context.Background()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"router400"}, Topology: true, SharedPort: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = farm.Close() })
	netw, _ := farm.Network()
	if len(netw.Sessions) == 0 {
		t.Fatal("the simulated network has no BGP session")
	}
	session := netw.Sessions[0]
	var res *resource.Resource
	for _, d := range farm.Devices() {
		if d.Name == session.Device {
			res = &resource.Resource{Site: "sim", Class: "network", Subclass: "router", Type: "generic", ID: d.Name, Endpoint: d.Addr}
		}
	}

	js := natstest.JetStream(t, "")
	tr, err := tracker.Open(ctx, js, tracker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mon := monitor.New(tr, nil)
	s, err := alertmanager.New(alertmanager.Config{URL: am.URL}, sink.Deps{Name: "am"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sink.NewFor(config.Sink{Name: "am", BatchTimeout: config.Duration(100 * time.Millisecond)}, s, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx, js) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})

	pool := snmp.NewPool(snmp.PoolOptions{MaxRequestsPerDevice: 2})
	t.Cleanup(func() { _ = pool.Close() })
	runner := poll.NewRunner(poll.RunnerOptions{Pool: pool, SNMP: poll.SNMPOptions{Timeout: 3 * time.Second, Retries: 2,
		Credential: "sim", Credentials: map[string]*snmp.Credential{"sim": {Version: "2c", Community: sim.DefaultCommunity}}}})
	plugin, err := poll.New("bgp", nil)
	if err != nil {
		t.Fatal(err)
	}
	pollOnce := func() {
		t.Helper()
		set := runner.Run(ctx, "bgp", plugin, res, time.Minute)
		if err := mon.Handle(ctx, set.Groups); err != nil {
			t.Fatal(err)
		}
	}
	alert := func() *amserver.Alert {
		alerts, err := am.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range alerts {
			if a.Labels["alertname"] == "BGPSessionDown" && a.Labels["peer_address"] == session.Peer && a.Labels["resource"] == res.ID {
				return &alerts[i]
			}
		}
		return nil
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	pollOnce() // established: first seen, no alert
	// The peer stops answering (an admin stop, "idle" in the simulator,
	// is no problem: the monitor calls it stopped).
	if err := farm.SetBGPSession(session.Device, session.Peer, "active"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the next poll's groups are newer
	pollOnce()
	var a *amserver.Alert
	wait("the alert to fire", func() bool { a = alert(); return a != nil })
	if a.Annotations["old_state"] != "established" || a.Annotations["new_state"] != "active" || a.Labels["site"] != "sim" {
		t.Errorf("alert %+v", a)
	}
	if err := farm.SetBGPSession(session.Device, session.Peer, "established"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	pollOnce()
	wait("the alert to resolve", func() bool { return alert() == nil })
}
