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

// A column the device does not return (a misspelt OID, a table the model
// lacks) makes the check partial with the column named: neither a metric nor
// a group vanishes silently while the status blames something else.
func TestAbsentColumnNamed(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd")
	const community = "cisco_16_switch"
	a := snmpagent.StartSnmpsim(t, community)
	dir := t.TempDir()
	// .99 columns do not exist in the recording; the memory filter reads one.
	const absent = `name: absent
match: {resource_type: [absent]}
groups:
  - type: cpu
    walk:
      load: .1.3.6.1.4.1.9.9.109.1.1.1.1.8
      load1m: .1.3.6.1.4.1.9.9.109.1.1.1.1.99
    metrics:
      cpu_utilization: load
      cpu_utilization_1m: load1m
  - type: memory
    walk:
      name: .1.3.6.1.4.1.9.9.48.1.1.1.2
      valid: .1.3.6.1.4.1.9.9.48.1.1.1.99
      used: .1.3.6.1.4.1.9.9.48.1.1.1.5
    filter: valid == 1
    dimensions: {memory_type: name}
    metrics: {memory_used: used}
  - type: environment
    optional: true
    walk: {temp: .1.3.6.1.4.1.9.9.13.1.3.1.3}
    metrics: {temperature: 'temp ?? 0'}
`
	file := filepath.Join(dir, "absent.yaml")
	if err := os.WriteFile(file, []byte(absent), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlugin(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := device(a, "absent", nil)
	gs, status := check(t, p, res, community)
	if status != metric.StatusPartialFailure || len(gs) != 1 || gs[0].Type != "cpu" ||
		val(gs[0], "cpu_utilization") != "25" || val(gs[0], "cpu_utilization_1m") != "" {
		t.Errorf("status %d, groups %s", status, dump(gs))
	}
	_, err = set.byName["absent"].Evaluate(t.Context(), testPool(t), &Request{Resource: res, Target: target(a, community)})
	for _, want := range []string{
		"profile absent group cpu (" + file + ":4): column load1m (.1.3.6.1.4.1.9.9.109.1.1.1.1.99) not returned by the device: no data for metric cpu_utilization_1m",
		"profile absent group memory (" + file + ":11): column valid (.1.3.6.1.4.1.9.9.48.1.1.1.99) not returned by the device: no data for the filter",
	} {
		if !errors.Is(err, ErrNotReturned) || !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nwant\n%s", err, want)
		}
	}
	// An optional group's absent table and a ?? fallback are not problems.
	if strings.Contains(err.Error(), "environment") || strings.Count(err.Error(), "not returned") != 2 {
		t.Errorf("error %v", err)
	}
}
