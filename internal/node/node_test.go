package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

func closedPort(t *testing.T) string {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func write(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomic, as a CMDB export should be
		t.Fatal(err)
	}
}

// TestScheduleFollowsInventory checks that the node schedules only its own
// site's resources that match a plugin's filter, and follows inventory
// changes without a restart — including refusing to wipe it for an empty file.
func TestScheduleFollowsInventory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded bus and discovery for a few seconds")
	}
	dir := t.TempDir()
	addr := closedPort(t)
	csv := filepath.Join(dir, "devices.csv")
	write(t, csv, fmt.Sprintf("id,endpoint,site,class\nsw1,%[1]s,lab,network\nsw2,%[1]s,lab,network\nsrv1,%[1]s,lab,server\nremote,%[1]s,other,network\n", addr))
	cfgText := fmt.Sprintf(`site: lab
data_dir: data
http: {listen: ""}
discovery:
  interval: 1s
  sources: [{plugin: csv, path: devices.csv}]
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
  timeout: 100ms
  retries: 0
polling:
  plugins:
    - name: interface
      interval: 1m
      filter: resource_class = "network"
sinks:
  - {type: file, path: out.jsonl}
`)
	cfgPath := filepath.Join(dir, "p.yaml")
	write(t, cfgPath, cfgText)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitChecks := func(want int, why string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			if n.readiness() == nil && n.poller.Scheduler().Len() == want {
				return
			}
			if time.Now().After(deadline) {
				got := -1
				if n.readiness() == nil {
					got = n.poller.Scheduler().Len()
				}
				t.Fatalf("%s: %d checks scheduled, want %d", why, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// sw1, sw2: site lab and class network. srv1 fails the filter, remote is another site's.
	waitChecks(2, "initial inventory")

	write(t, csv, fmt.Sprintf("id,endpoint,site,class\nsw1,%[1]s,lab,network\nsw3,%[1]s,lab,network\nsw4,%[1]s,lab,network\n", addr))
	waitChecks(3, "after sw2 removed and sw3, sw4 added")

	// An empty export must not wipe the inventory.
	write(t, csv, "")
	time.Sleep(2500 * time.Millisecond) // two discovery intervals
	if got := n.poller.Scheduler().Len(); got != 3 {
		t.Fatalf("an empty inventory file changed the schedule to %d checks", got)
	}
	if got := n.index.Len(); got != 3 {
		t.Fatalf("an empty inventory file left %d resources, want the previous 3", got)
	}
}
