package command

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/discovery/discoverytest"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

// script builds a command source running testdata/<name> with /bin/sh
// (no reliance on the executable bit surviving a checkout).
func script(t *testing.T, name string, timeout time.Duration, args ...string) discovery.Source {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	src, err := discovery.Build("command", plugin.BlockOf(Config{Command: "/bin/sh",
		Args: append([]string{filepath.Join("testdata", name)}, args...), Timeout: plugin.Duration(timeout)}),
		discovery.Deps{Name: "cmdb", Defaults: discovery.Defaults{Site: "dc9"}})
	if err != nil {
		t.Fatal(err)
	}
	src.(*Command).now = func() time.Time { return discoverytest.Now }
	return src
}

func TestCommandCSV(t *testing.T) {
	res := discoverytest.Discover(t, script(t, "good.sh", 10*time.Second))
	got := discoverytest.ByID(res.Set)
	if len(got) != 2 || res.Rows != 2 || len(res.Rejected) != 0 {
		t.Fatalf("result %+v", res)
	}
	if r := got["sw1"]; r.Endpoint != "10.0.0.1" || r.Type != "cisco" || r.Metadata["model"] != "3750" || r.Plugin != "cmdb" || r.CreationTimestamp != discoverytest.TS {
		t.Errorf("sw1 = %+v", r)
	}
	if r := got["sw2"]; r.Type != discovery.FallbackType || r.Site != "dc1" {
		t.Errorf("sw2 defaults = %+v", r)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "1 device skipped") {
		t.Errorf("stderr not reported as a warning: %q", res.Warnings)
	}
}

func TestCommandJSONWithArgs(t *testing.T) {
	res := discoverytest.Discover(t, script(t, "json.sh", 10*time.Second, "lon1"))
	got := discoverytest.ByID(res.Set)
	if len(got) != 2 || got["r1"].Site != "lon1" || got["r2"].Metadata["model"] != "mx480" || got["r1"].Plugin != "cmdb" {
		t.Fatalf("resources %v", got)
	}
}

func TestCommandBadRows(t *testing.T) {
	res := discoverytest.Discover(t, script(t, "bad_rows.sh", 10*time.Second))
	if discoverytest.IDs(res.Set)[0] != "a" || len(res.Set.Resources) != 1 || len(res.Rejected) != 3 || res.Rows != 4 {
		t.Fatalf("result %+v rejected %v", res, res.Rejected)
	}
	if res.Rejected[0].File != "command sh" || res.Rejected[0].Line != 3 {
		t.Errorf("rejections name %q, want the command", res.Rejected[0].File)
	}
}

func TestCommandFailures(t *testing.T) {
	t.Setenv("CMDB_TOKEN", "s3cr3t-t0ken")
	cases := []struct {
		script  string
		timeout time.Duration
		want    []string
	}{
		{"fail.sh", 10 * time.Second, []string{"exit status 3", "cmdb unreachable (token <redacted>)"}},
		{"slow.sh", 300 * time.Millisecond, []string{"timed out after 300ms"}},
		{"empty.sh", 10 * time.Second, []string{"the output is empty"}},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			began := time.Now()
			_, err := script(t, c.script, c.timeout).Discover(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks the token: %v", err)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("took %v: the timeout must kill the script and its children", d)
			}
		})
	}

}

// A failing command keeps the previous inventory: Sync fails the source and
// Apply is never given a broken set.
func TestCommandFailureKeepsInventory(t *testing.T) {
	inv := discoverytest.NewInventory()
	m := discovery.NewManager(discovery.ManagerOptions{Inventory: inv})
	ctx := context.Background()
	if _, err := m.Sync(ctx, "cmdb", script(t, "good.sh", 10*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	before := inv.Snapshot()
	for _, s := range []string{"fail.sh", "empty.sh"} {
		_, err := m.Sync(ctx, "cmdb", script(t, s, 10*time.Second), 0)
		if !errors.Is(err, discovery.ErrKeptPrevious) {
			t.Errorf("%s: error %v, want ErrKeptPrevious", s, err)
		}
	}
	// Mostly invalid output is refused by Apply's ratio check.
	_, err := m.Sync(ctx, "cmdb", script(t, "bad_rows.sh", 10*time.Second), 0)
	if !errors.Is(err, discovery.ErrKeptPrevious) {
		t.Errorf("bad rows: error %v, want ErrKeptPrevious", err)
	}
	after := inv.Snapshot()
	if len(after) != 2 || len(after) != len(before) {
		t.Fatalf("inventory changed: %v", after)
	}
	for k, r := range before {
		if !r.SameContent(after[k]) {
			t.Errorf("%s changed", k)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor([]string{"API_TOKEN=abcd1234", "HOME=/root", "DB_PASSWORD=hunter22", "X_KEY=ab"})
	got := r.clean("token abcd1234 home /root pw hunter22 ab")
	if got != "token <redacted> home /root pw <redacted> ab" {
		t.Errorf("clean = %q", got)
	}
}

// An endpoint that could never be polled is a row error naming its line,
// in CSV and in JSON output.
func TestCommandBadEndpoints(t *testing.T) {
	for _, out := range []string{discoverytest.BadEndpointsCSV, discoverytest.BadEndpointsJSON} {
		file := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := discovery.Build("command", plugin.BlockOf(Config{Command: "/bin/cat", Args: []string{file}}),
			discovery.Deps{Name: "cmdb"})
		if err != nil {
			t.Fatal(err)
		}
		discoverytest.CheckBadEndpoints(t, discoverytest.Discover(t, src), "command cat")
	}
}
