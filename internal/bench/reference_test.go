package bench

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

func TestReferenceMeasuresSnmpbulkwalk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs net-snmp's snmpbulkwalk for a few seconds")
	}
	if _, err := exec.LookPath("snmpbulkwalk"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("snmpbulkwalk not installed (Debian package snmp)")
		}
		t.Skip("snmpbulkwalk not installed")
	}
	ref, err := reference(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", ref)
	if ref.Varbinds < 500000 || ref.CPUSecondsPer1MVarbinds <= 0 || ref.StartupCPUSeconds <= 0 {
		t.Errorf("reference %+v: want 500k+ varbinds, CPU and start-up measured", ref)
	}
	if ref.WalkOnlyCPUSecondsPer1MVarbinds > ref.CPUSecondsPer1MVarbinds {
		t.Errorf("walk-only CPU %v exceeds the whole-process CPU %v", ref.WalkOnlyCPUSecondsPer1MVarbinds, ref.CPUSecondsPer1MVarbinds)
	}
}
