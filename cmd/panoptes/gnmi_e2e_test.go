package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

var gnmiTargetsRE = regexp.MustCompile(`gNMI targets on (\S+)`)

// startGNMISim runs `panoptes sim --gnmi` with mutual TLS and a password
// as its own process and returns the first target's address.
func startGNMISim(t *testing.T, ca *pki.CA) (*proc, string) {
	t.Helper()
	cert, key := ca.Issue(t, "sim")
	p := startPanoptesEnv(t, []string{"PANOPTES_SIM_GNMI_PASSWORD=sim-secret"}, "sim", "--devices", "2", "--template", "switch48", "--base-port", "0", "--gnmi", "--gnmi-base-port", "0",
		"--gnmi-tls-cert", cert, "--gnmi-tls-key", key, "--gnmi-client-ca", ca.CAFile, "--gnmi-username", "admin",
		"--gnmi-update", "200ms")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := gnmiTargetsRE.FindStringSubmatch(p.log()); m != nil {
			return p, m[1]
		}
		if time.Now().After(deadline) || !p.alive() {
			t.Fatalf("panoptes sim --gnmi did not start:\n%s", p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGNMISimProcess runs the simulator as a separate process (mutual TLS,
// a password) and reads it with `panoptes poll --protocol gnmi` and with a
// long-lived subscription: a dropped stream (SIGUSR1) is re-subscribed, a
// restart (SIGHUP) resets the counters and the rates stay right.
func TestGNMISimProcess(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end to end: builds and runs the binary")
	}
	ca := pki.New(t)
	sim, addr := startGNMISim(t, ca)
	clientCert, clientKey := ca.Issue(t, "collector")

	t.Run("poll", func(t *testing.T) {
		cmd := exec.Command(binary(t), "poll", "--protocol", "gnmi", "--endpoint", addr, "--path", "/interfaces",
			"--username", "admin", "--ca-file", ca.CAFile, "--cert-file", clientCert, "--key-file", clientKey)
		cmd.Env = append(os.Environ(), "PANOPTES_GNMI_PASSWORD=sim-secret")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("poll: %v\n%s", err, out)
		}
		var set metric.GroupSet
		if err := json.Unmarshal(out, &set); err != nil {
			t.Fatal(err)
		}
		ifs := 0
		for _, g := range set.Groups {
			if g.Type == "interface" {
				ifs++
			}
		}
		last := set.Groups[len(set.Groups)-1]
		if m, _ := last.Metric("polling_status"); ifs != 55 || last.Type != "status" || m.Value.Int64() != 0 {
			t.Fatalf("%d interface groups, last %s %v", ifs, last.Type, last.Metrics)
		}
		// A wrong password: exit 1, status 1, the secret not printed.
		cmd = exec.Command(binary(t), "poll", "--protocol", "gnmi", "--endpoint", addr, "--username", "admin",
			"--ca-file", ca.CAFile, "--cert-file", clientCert, "--key-file", clientKey)
		cmd.Env = append(os.Environ(), "PANOPTES_GNMI_PASSWORD=not-the-secret")
		out, err = cmd.CombinedOutput()
		if err == nil || !regexp.MustCompile(`polling status 1`).Match(out) || regexp.MustCompile(`not-the-secret|sim-secret`).Match(out) {
			t.Fatalf("wrong password: %v\n%s", err, out)
		}
	})

	t.Run("stream", func(t *testing.T) {
		maps, err := gnmiMappings("")
		if err != nil {
			t.Fatal(err)
		}
		set := maps.Select(func(g *mapping.Group) bool { return g.Type == "interface" })
		st := set.NewState(mapping.Options{Name: addr})
		rates := rate.New(rate.Options{})
		res := &resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "sim", ID: "sw1", Endpoint: addr}
		events := make(chan gnmi.Event, 100000)
		s := &gnmi.Subscriber{Name: "sw1", MinBackoff: 100 * time.Millisecond,
			Config: gnmi.Config{Address: addr, Username: "admin", Password: "sim-secret",
				TLS: gnmi.TLS{Enabled: true, CAFile: ca.CAFile, CertFile: clientCert, KeyFile: clientKey}},
			Request: gnmi.Request{Subscriptions: set.Subscriptions(time.Second)}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = s.Run(ctx, func(e gnmi.Event) { events <- e }) }()

		syncs := 0
		var last map[string]*metric.Group
		// read applies events for d, then builds the rows and their rates.
		read := func(d time.Duration) map[string]*metric.Group {
			end := time.After(d)
			for {
				select {
				case e := <-events:
					st.Handle(e)
					if e.Kind == gnmi.Sync {
						syncs++
					}
					continue
				case <-end:
				}
				break
			}
			gs := &metric.GroupSet{Groups: st.Build(res, 10*time.Second, time.Now(), false)}
			rates.Apply(context.Background(), gs, rate.Names("bits_in"), time.Now())
			out := map[string]*metric.Group{}
			for _, g := range gs.Groups {
				out[g.Dimension("interface_name")] = g
			}
			if len(out) > 0 {
				last = out
			}
			return out
		}
		// until reads in 500 ms steps until ok holds of Gi1/0/1's group (a
		// loaded machine delays samples), at most 30 s.
		until := func(what string, ok func(g *metric.Group) bool) *metric.Group {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if g := read(500 * time.Millisecond)["Gi1/0/1"]; g != nil && ok(g) {
					return g
				}
			}
			t.Fatalf("no %s within 30s (%d syncs; last Gi1/0/1: %v)", what, syncs, last["Gi1/0/1"])
			return nil
		}
		hasRate := func(g *metric.Group) bool { _, ok := g.Metric("bits_in_rate"); return ok }
		r1, _ := until("bits_in_rate", hasRate).Metric("bits_in_rate")
		if syncs != 1 || r1.Value.Float64() <= 0 {
			t.Fatalf("%d syncs, rate %v", syncs, r1.Value)
		}
		if err := sim.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		until("a new stream after SIGUSR1", func(*metric.Group) bool { return syncs == 2 })
		before, _ := last["Gi1/0/1"].Metric("bits_in")
		if err := sim.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		until("counters reset by SIGHUP", func(g *metric.Group) bool {
			b, _ := g.Metric("bits_in")
			if b.Value.Uint64() < before.Value.Uint64() {
				if hasRate(g) {
					t.Errorf("a rate across the restart: %v", g.Metrics)
				}
				return true
			}
			return false
		})
		until("a new stream after SIGHUP", func(*metric.Group) bool { return syncs == 3 })
		r2, _ := until("bits_in_rate after the restart", hasRate).Metric("bits_in_rate")
		if r2.Value.Float64() < r1.Value.Float64()*0.9 || r2.Value.Float64() > r1.Value.Float64()*1.1 {
			t.Fatalf("bits_in_rate after the restart %v, before %v", r2.Value, r1.Value)
		}
	})
}
