package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/panoptes-go/panoptes/internal/sim"
)

// referenceRoots are the tables the interface plugin reads.
var referenceRoots = []string{".1.3.6.1.2.1.2.2.1", ".1.3.6.1.2.1.31.1.1.1", ".1.3.6.1.2.1.10.7.2.1"}

// reference measures net-snmp's snmpbulkwalk (C) walking the interface
// plugin's tables: CPU per varbind, from the child processes' rusage, over
// enough walks to be above the clock's resolution. It walks a simulated
// 400-interface router of its own (about 24,000 varbinds per process), so
// that the per-process start-up, measured apart, is a small share.
func reference(ctx context.Context) (*Reference, error) {
	farm, err := sim.Start(ctx, sim.Options{Devices: 1, Templates: []string{"router400"}, Seed: 1})
	if err != nil {
		return nil, fmt.Errorf("reference device: %w", err)
	}
	defer farm.Close()
	endpoint := farm.Devices()[0].Addr
	if _, err := exec.LookPath("snmpbulkwalk"); err != nil {
		return nil, fmt.Errorf("snmpbulkwalk not installed (Debian package snmp)")
	}
	var cpu time.Duration
	varbinds, walks := 0, 0
	for varbinds < 500000 {
		for _, root := range referenceRoots {
			cmd := exec.CommandContext(ctx, "snmpbulkwalk", "-v2c", "-c", "public", "-Cr50", "-On", "-Oq", endpoint, root)
			cmd.Env = append(os.Environ(), "MIBS=")
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("snmpbulkwalk %s %s: %w", endpoint, root, err)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			walks++
			varbinds += bytes.Count(out.Bytes(), []byte("\n"))
		}
		if varbinds == 0 {
			return nil, fmt.Errorf("snmpbulkwalk read nothing from %s", endpoint)
		}
	}
	// A walk is one process: net-snmp's start-up (loading libraries and
	// config) is part of what it costs, but not per varbind. Measure it
	// with walks of an empty subtree and report the walk cost without it too.
	var startCPU time.Duration
	const starts = 50
	for i := 0; i < starts; i++ {
		cmd := exec.CommandContext(ctx, "snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Oq", endpoint, ".1.3.6.1.2.1.1.99")
		cmd.Env = append(os.Environ(), "MIBS=")
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("snmpbulkwalk start-up probe: %w", err)
		}
		startCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	perStart := startCPU / starts
	walkCPU := cpu - perStart*time.Duration(walks)
	return &Reference{
		Tool:                            "snmpbulkwalk -v2c -Cr50 (net-snmp), ifTable + ifXTable + dot3StatsTable of a simulated 400-interface router",
		Varbinds:                        varbinds,
		CPUSecondsPer1MVarbinds:         cpu.Seconds() / float64(varbinds) * 1e6,
		StartupCPUSeconds:               perStart.Seconds(),
		WalkOnlyCPUSecondsPer1MVarbinds: max(walkCPU, 0).Seconds() / float64(varbinds) * 1e6,
	}, nil
}
