package daemon

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
)

func TestStartWaitsAndStops(t *testing.T) {
	python, _ := exec.LookPath("python3") // "" when missing
	Need(t, "python3", python, "install Debian's python3 package")
	port := strconv.Itoa(freeport.TCP(t))
	cmd := exec.Command(python, "-m", "http.server", port, "--bind", "127.0.0.1")
	cmd.Dir = t.TempDir()
	t.Run("serve", func(t *testing.T) {
		if err := Start(t, "http.server", cmd, filepath.Join(t.TempDir(), "log"), "http://127.0.0.1:"+port+"/", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if cmd.ProcessState != nil {
			t.Fatal("process ended before the test did")
		}
	})
	// The subtest's cleanup stopped it.
	if cmd.ProcessState == nil {
		t.Fatal("process still running after the test's cleanup")
	}
}

func TestStartReportsAnEarlyExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	cmd := exec.Command("sh", "-c", "echo cannot bind >&2; exit 3")
	err := Start(t, "failing", cmd, log, "http://127.0.0.1:1/", 10*time.Second)
	if err == nil {
		t.Fatal("Start succeeded for a process that exited")
	}
	if !strings.Contains(err.Error(), "failing exited during startup") || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("error %q: want the exit and the log's tail", err)
	}
}
