package node

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
)

// The stop order is the reverse of this start order; it is what keeps a
// graceful stop lossless (docs/DESIGN.md, Lifecycle): the handover before
// the streams and the running checks, the scheduler before the sinks'
// drain, the sinks before the cluster's records, the bus last. A change
// here is a change of that order: check it against the e2e tests.
func TestServiceOrder(t *testing.T) {
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "n.yaml"), []byte("site: lab\ndata_dir: data\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"max procs", "bus", "inventory", "snmp", "device state", "http", "cluster", "sinks", "status page", "apps", "rates",
		"enrichment removals", "enrichment", "discovery", "summary", "sinks drain", "scheduler", "running checks", "streams",
		"handover", "reconcile"}
	if got := n.group.Names(); !slices.Equal(got, want) {
		t.Errorf("services\n got %v\nwant %v", got, want)
	}
}
