package bench

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a panoptes process the harness starts (the simulator, the bus),
// so that its CPU and memory are not the collector's.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startChild(binary string, args ...string) (*child, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	return c, nil
}

// simProcess is `panoptes sim` in its own process.
type simProcess struct {
	*child
	inventory string
}

// startSimulator starts `panoptes sim` with o's devices and the extra
// arguments (the gNMI harness's --gnmi ...).
func startSimulator(ctx context.Context, o Options, inventory string, extra ...string) (*simProcess, error) {
	args := []string{"sim",
		"--devices", strconv.Itoa(o.Devices),
		"--base-port", strconv.Itoa(o.BasePort),
		"--template", o.Template,
		"--seed", strconv.FormatInt(o.Seed, 10),
		"--inventory", inventory}
	if o.SharedPort {
		args = append(args, "--shared-port")
	} else {
		args = append(args, "--ports-per-addr", strconv.Itoa(o.PortsPerAddr))
	}
	if o.SimMaxMsgSize > 0 {
		args = append(args, "--max-msg-size", strconv.Itoa(o.SimMaxMsgSize))
	}
	args = append(args, extra...)
	c, err := startChild(o.Binary, args...)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	s := &simProcess{child: c, inventory: inventory}
	// The simulator writes its inventory once every device listens.
	// A gNMI target's start (its cache filled, its server up) takes tens
	// of milliseconds on a loaded machine: 1,000 of them can take minutes.
	wait := 2*time.Minute + time.Duration(o.Devices)*100*time.Millisecond
	deadline := time.Now().Add(wait)
	for {
		if st, err := os.Stat(inventory); err == nil && st.Size() > 0 {
			if rows, err := s.rows(); err == nil && len(rows) >= o.Devices {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("simulator exited before it was ready: %v", s.cmd.ProcessState)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("simulator not ready after %s (no complete inventory at %s)", wait, inventory)
		}
	}
}

// rows reads the simulator's inventory: header, then one device per row.
func (s *simProcess) rows() ([][]string, error) {
	f, err := os.Open(s.inventory)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.Comment = '#'
	all, err := r.ReadAll()
	if err != nil || len(all) == 0 {
		return nil, fmt.Errorf("inventory %s: %v", s.inventory, err)
	}
	return all[1:], nil
}

// cpu is the process's user+system CPU time so far, from /proc.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line, in clock ticks (100 Hz).
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+2:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rss is the process's resident set size in bytes.
func (c *child) rss() int64 {
	return statusRSS(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
}

func (c *child) stop() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}
