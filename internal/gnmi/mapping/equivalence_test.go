package mapping_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/parts"
	_ "github.com/panoptes-go/panoptes/internal/poll/iface" // the interface plugin it compares with

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/rate"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// snmpOnly are interface metrics EtherLike-MIB has and OpenConfig does not.
var snmpOnly = []string{"errors_frame", "multiple_collision_frames", "sqe_test_errors", "deferred_transmissions", "excessive_collisions"}

// TestSNMPvsGNMI reads one simulated device over SNMP (the interface
// plugin) and over gNMI (the shipped mapping), twice each, with rates from
// the same rate processor: the `interface` groups have the same interface
// names, dimensions and gauges, the same metric names (but for
// EtherLike-MIB's extra counters) and, within a sample interval, the same
// rates. router400's ifDescr equals ifName; switch48's does not, and
// OpenConfig has no ifDescr: its `description` is the interface name.
func TestSNMPvsGNMI(t *testing.T) {
	for _, template := range []string{"switch48", "router400"} {
		t.Run(template, func(t *testing.T) {
			dev, tg := startFarm(t, template, time.Hour) // fed before each read
			set := shipped(t).Select(func(g *mapping.Group) bool { return g.Type == "interface" })
			snmpRates := rate.New(rate.Options{})
			gnmiRates := rate.New(rate.Options{})
			res := *testResource
			res.Endpoint = dev.Addr
			var snmpSet, gnmiSet *metric.GroupSet
			c, err := gnmi.Dial(gnmi.Config{Address: tg.Addr, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := set.NewState(mapping.Options{Name: "dev"})
			var polled [2]time.Time
			var pollTime time.Duration
			for i := 0; i < 2; i++ {
				if i == 1 {
					time.Sleep(2 * time.Second)
				}
				tg.Update()
				polled[i] = time.Now()
				snmpSet = pollSNMP(t, dev, &res)
				pollTime += time.Since(polled[i])
				snmpRates.Apply(context.Background(), snmpSet, rate.All(), time.Now())
				ns, err := c.Once(context.Background(), &gnmi.Request{Encoding: pb.Encoding_PROTO, Subscriptions: set.Subscriptions(time.Second)})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range ns {
					st.Notification(n)
				}
				gnmiSet = &metric.GroupSet{Groups: st.Build(&res, 10*time.Second, time.Now(), true)}
				gnmiRates.Apply(context.Background(), gnmiSet, rate.All(), time.Now())
			}
			s, g := byDim(byType(snmpSet.Groups, "interface"), "interface_name"), byDim(gnmiSet.Groups, "interface_name")
			if len(s) == 0 || len(s) != len(g) {
				t.Fatalf("%d interfaces over SNMP, %d over gNMI", len(s), len(g))
			}
			// SNMP stamps a value when its walk returns, not when the agent
			// read it: each stamp is uncertain by up to its poll's
			// duration, which a loaded machine (-race) makes seconds.
			tol := pollTime.Seconds()/polled[1].Sub(polled[0]).Seconds() + 0.02
			rated := 0
			for name, sg := range s {
				gg := g[name]
				if gg == nil {
					t.Errorf("%s: no gNMI group", name)
					continue
				}
				for _, d := range sg.Dimensions {
					want := d.Value
					if d.Name == "description" && template == "switch48" {
						want = name
					}
					if got := gg.Dimension(d.Name); got != want {
						t.Errorf("%s: dimension %s: gNMI %q, SNMP %q", name, d.Name, got, want)
					}
				}
				if len(sg.Dimensions) != len(gg.Dimensions) {
					t.Errorf("%s: dimensions SNMP %v, gNMI %v", name, sg.Dimensions, gg.Dimensions)
				}
				sn, gn := names(sg, snmpOnly), names(gg, nil)
				if !slices.Equal(sn, gn) {
					t.Errorf("%s: metrics\n SNMP %v\n gNMI %v", name, sn, gn)
				}
				for _, m := range sg.Metrics {
					gm, ok := gg.Metric(m.Name)
					if !ok {
						continue
					}
					switch {
					case m.Type == metric.Gauge && !isRate(m.Name):
						if gm.Value.String() != m.Value.String() {
							t.Errorf("%s: %s: gNMI %v, SNMP %v", name, m.Name, gm.Value, m.Value)
						}
					case isRate(m.Name):
						sv, gv := m.Value.Float64(), gm.Value.Float64()
						// Counters advance in whole units: a slow one read
						// ~2 s apart is off by up to a unit per read.
						if math.Abs(sv-gv) > tol*math.Max(sv, gv)+1 {
							t.Errorf("%s: %s: gNMI %.1f, SNMP %.1f", name, m.Name, gv, sv)
						}
						rated++
					}
				}
			}
			if rated == 0 {
				t.Fatal("no rates compared")
			}
			// gNMI's rate is the device's: the target stamps its values.
			for _, f := range dev.Interfaces(time.Now()) {
				if f.Has&sim.HasInOctets == 0 || f.OperStatus != 1 || g[f.Name] == nil {
					continue
				}
				want, _ := dev.Rate(fmt.Sprintf(".1.3.6.1.2.1.31.1.1.1.6.%d", f.Index))
				got := metricOfRate(g[f.Name], "bits_in_rate")
				if math.Abs(got-float64(want*8)) > 0.005*float64(want*8)+16 {
					t.Errorf("%s: gNMI bits_in_rate %.1f, the device's rate is %d", f.Name, got, want*8)
				}
			}
			t.Logf("%d interfaces, %d rates compared, SNMP-vs-gNMI tolerance %.1f%%", len(s), rated, tol*100)
		})
	}
}

func metricOfRate(g *metric.Group, name string) float64 {
	m, _ := g.Metric(name)
	return m.Value.Float64()
}

func isRate(name string) bool { return len(name) > 5 && name[len(name)-5:] == "_rate" }

func names(g *metric.Group, except []string) []string {
	var out []string
	for _, m := range g.Metrics {
		if !slices.Contains(except, m.Name) && !slices.Contains(except, trimRate(m.Name)) {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func trimRate(n string) string {
	if isRate(n) {
		return n[:len(n)-5]
	}
	return n
}

// pollSNMP runs the interface plugin against the device.
func pollSNMP(t *testing.T, dev *sim.Device, res interface{ Key() string }) *metric.GroupSet {
	t.Helper()
	cfg := config.Default()
	cfg.SNMP.Credentials = map[string]config.Credential{"sim": {Version: "2c", Community: "public"}}
	cfg.SNMP.Credential = "sim"
	pool := snmp.NewPool(snmp.PoolOptions{MaxRequestsPerDevice: 2})
	defer pool.Close()
	runner := poll.NewRunner(poll.RunnerOptions{SNMP: parts.SNMPOptions(cfg.SNMP), Pool: pool})
	plugin, err := poll.New("interface", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := *testResource
	r.Endpoint = dev.Addr
	set := runner.Run(context.Background(), "interface", plugin, &r, 10*time.Second)
	for _, g := range set.Groups {
		if g.Type == "status" {
			if m, _ := g.Metric("polling_status"); m.Value.Int64() != 0 {
				t.Fatalf("SNMP poll of %s: status %v", dev.Addr, m.Value)
			}
		}
	}
	return set
}
