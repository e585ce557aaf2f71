// Package simdevice serves one recording with the simulator on a fixed
// loopback port, and lets a test replace the recording: the device "changes"
// (new names, sysUpTime back near 0 for a restart) at the same address.
package simdevice

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

// Device is a simulated agent on 127.0.0.1:Port.
type Device struct {
	Port int
	dir  string
	farm *sim.Farm
	n    int
}

// Serve starts rec (.snmprec text) on a free port; the test's cleanup stops it.
func Serve(t testing.TB, rec string) *Device {
	t.Helper()
	d := &Device{Port: freeport.UDP(t), dir: t.TempDir()}
	t.Cleanup(func() {
		if d.farm != nil {
			_ = d.farm.Close()
		}
	})
	d.Replace(t, rec)
	return d
}

// Replace serves rec instead, on the same port.
func (d *Device) Replace(t testing.TB, rec string) {
	t.Helper()
	if d.farm != nil {
		if err := d.farm.Close(); err != nil {
			t.Fatal(err)
		}
	}
	d.n++
	path := filepath.Join(d.dir, fmt.Sprintf("device%d.snmprec", d.n))
	if err := os.WriteFile(path, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.farm, err = sim.Start(context.Background(), sim.Options{Templates: []string{path}, BasePort: d.Port}); err != nil {
		t.Fatal(err)
	}
}
