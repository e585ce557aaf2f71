package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNodeIDIsStablePerDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, err := NodeID(dir)
	if err != nil || !ValidID(id) {
		t.Fatalf("NodeID = %q, %v", id, err)
	}
	again, err := NodeID(dir)
	if err != nil || again != id {
		t.Fatalf("second NodeID = %q, %v; want the same %q", again, err, id)
	}
	other, _ := NodeID(t.TempDir())
	if other == id {
		t.Errorf("two data dirs got the same id %q", id)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_id"), []byte("bad.id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NodeID(dir); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Errorf("a bad node_id file: err = %v, want it rejected", err)
	}
}

// Only live, non-draining pollers of the site share its resources.
func TestPollersFilter(t *testing.T) {
	now := time.Now()
	fresh, stale := now.Add(-time.Second), now.Add(-time.Minute)
	hb := Millis(2000)
	ms := []Member{
		{ID: "ok", Site: "lab", Roles: []string{RolePoller}, Seen: fresh, Heartbeat: hb},
		{ID: "draining", Site: "lab", Roles: []string{RolePoller}, Seen: fresh, Heartbeat: hb, Draining: true},
		{ID: "expired", Site: "lab", Roles: []string{RolePoller}, Seen: stale, Heartbeat: hb},
		{ID: "consumer", Site: "lab", Roles: []string{"consumer"}, Seen: fresh, Heartbeat: hb},
		{ID: "elsewhere", Site: "edge", Roles: []string{RolePoller}, Seen: fresh, Heartbeat: hb},
		{ID: "also-ok", Site: "lab", Roles: []string{RoleDiscovery, RolePoller}, Seen: fresh},
	}
	if got := ids(Pollers(ms, "lab", now)); !slices.Equal(got, []string{"also-ok", "ok"}) {
		t.Errorf("pollers of lab = %v, want [also-ok ok]", got)
	}
}
