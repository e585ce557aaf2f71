package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim"
)

// TestPollProfileSim: the shipped profiles read everything they define from
// the shipped simulator: panoptes poll --plugin profile against switch48
// (cisco-ios) and router400 (juniper) exits 0 with cpu, memory and
// environment groups, and no metric is left out.
func TestPollProfileSim(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: serves simulated devices")
	}
	farm, err := sim.Start(context.Background(), sim.Options{Devices: 2, Templates: []string{"switch48", "router400"}})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	want := map[string]map[string][]string{ // template -> group type -> metrics every group of it has
		"switch48": {
			"cpu":         {"cpu_utilization", "cpu_utilization_1m"},
			"memory":      {"memory_total", "memory_used"},
			"environment": {"temperature"},
		},
		"router400": {
			"cpu":         {"cpu_utilization"},
			"memory":      {"memory_total", "memory_used"},
			"environment": {"temperature"},
		},
	}
	for i, d := range farm.Devices() {
		name := []string{"switch48", "router400"}[i]
		code, stdout, stderr := runMain(t, "poll", "--endpoint", d.Addr, "--community", "public", "--plugin", "profile")
		if code != 0 {
			t.Errorf("%s: poll exit code %d\n%s", name, code, stderr)
		}
		var set struct {
			Groups []*metric.Group `json:"metrics_group_set"`
		}
		if err := json.Unmarshal([]byte(stdout), &set); err != nil {
			t.Fatalf("%s: poll output is not a metrics group set: %v\n%.500s", name, err, stdout)
		}
		seen := map[string]int{}
		fans := false
		for _, g := range set.Groups {
			seen[g.Type]++
			if _, ok := g.Metric("fans_total"); ok {
				fans = true
			}
			if g.Type == "environment" && g.Dimension("sensor_name") == "" {
				continue // the fans and power supplies group
			}
			for _, m := range want[name][g.Type] {
				if _, ok := g.Metric(m); !ok {
					t.Errorf("%s: a %s group without %s", name, g.Type, m)
				}
			}
		}
		for typ := range want[name] {
			if seen[typ] == 0 {
				t.Errorf("%s: no %s group (groups %v)", name, typ, seen)
			}
		}
		if !fans {
			t.Errorf("%s: no fan counts", name)
		}
		if st := statusOf(set.Groups)[d.Addr]; st != metric.StatusSuccess {
			t.Errorf("%s: polling_status = %d\n%s", name, st, stderr)
		}
	}
}
