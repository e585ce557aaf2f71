package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

// A device that answers noSuchObject for a profile's tables: the check
// reports missing metrics (every group absent) or a partial failure (some
// groups built), never a crash or a network error.
func TestMissingTables(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd")
	const community = "cisco_16_switch"
	a := snmpagent.StartSnmpsim(t, community)

	// The Arista profile forced onto the Cisco recording: no
	// HOST-RESOURCES-MIB, no ENTITY-SENSOR-MIB rows.
	p, err := NewPlugin(shipped(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	gs, status := check(t, p, device(a, "switch", map[string]string{MetadataKey: "arista-eos"}), community)
	if status != metric.StatusMissingMetrics || len(gs) != 0 {
		t.Errorf("all tables missing: status %d, groups %s", status, dump(gs))
	}

	// A profile with one table the device has and one it has not.
	dir := t.TempDir()
	const partial = `name: partial
match: {resource_type: [partial]}
groups:
  - type: cpu
    walk: {load: .1.3.6.1.4.1.9.9.109.1.1.1.1.8}
    metrics: {cpu_utilization: load}
  - type: environment
    walk: {temp: .1.3.6.1.4.1.9.9.13.1.3.1.3}
    metrics: {temperature: temp}
  - type: environment
    optional: true
    get: {absent: .1.3.6.1.4.1.9.9.13.1.3.1.3.1}
    metrics: {temperature: absent}
`
	if err := os.WriteFile(filepath.Join(dir, "partial.yaml"), []byte(partial), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := NewPlugin(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := device(a, "partial", nil)
	gs, status = check(t, p2, res, community)
	if status != metric.StatusPartialFailure || len(gs) != 1 || gs[0].Type != "cpu" || val(gs[0], "cpu_utilization") != "25" {
		t.Errorf("one table missing: status %d, groups %s", status, dump(gs))
	}
	// The error names the profile, the group and the missing table.
	_, err = p2.set.byName["partial"].Evaluate(t.Context(), testPool(t), &Request{Resource: res, Target: target(a, community)})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "profile partial group environment ("+filepath.Join(dir, "partial.yaml")+":7): device returned no data for table columns temp (.1.3.6.1.4.1.9.9.13.1.3.1.3)") {
		t.Errorf("error %v", err)
	}
}
