package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/wire"

	"github.com/panoptes-go/panoptes/internal/bus"
	"github.com/panoptes-go/panoptes/internal/metric"
	filesink "github.com/panoptes-go/panoptes/internal/sink/file"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the panoptes binary once per test run, for tests that need a
// real process (signals, kill -9, restart).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "panoptes-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "panoptes")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build panoptes: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// simFarm runs `panoptes sim` (devices on free ports, seed 1, templates
// round-robin; none: switch48) as a process of its own and returns the
// path of its inventory, dir/devices.csv (credential "sim", community
// public). Its devices answer at the speed of the built binary, not of the
// race-instrumented test binary: on a loaded machine an in-process farm
// answered a 1 s interface walk late enough for the node to skip checks
// (TestKillNineBusServer saw 2 s gaps).
func simFarm(t *testing.T, dir string, devices int, templates ...string) string {
	t.Helper()
	csvPath := filepath.Join(dir, "devices.csv")
	args := []string{"sim", "--devices", strconv.Itoa(devices), "--base-port", "0", "--seed", "1", "--inventory", csvPath}
	for _, tpl := range templates {
		args = append(args, "--template", tpl)
	}
	p := startPanoptes(t, args...)
	waitFor(t, "panoptes sim's inventory", time.Minute, p, func() bool {
		_, err := os.Stat(csvPath)
		return err == nil
	})
	return csvPath
}

// proc is a running `panoptes run`.
type proc struct {
	cmd    *exec.Cmd
	output logbuf.Buffer // stdout and stderr
	done   chan struct{}
	err    error
}

func (p *proc) log() string { return p.output.String() }

// startRun starts `panoptes run` with the config, and env (KEY=value)
// added to the test's environment.
func startRun(t *testing.T, cfgPath string, env ...string) *proc {
	t.Helper()
	return startPanoptesEnv(t, env, "run", "--config", cfgPath, "--log-level", "debug")
}

// startPanoptes starts the binary with args; it is killed when the test
// ends, and its output logged if the test failed.
func startPanoptes(t *testing.T, args ...string) *proc {
	t.Helper()
	return startPanoptesEnv(t, nil, args...)
}

// startPanoptesEnv is startPanoptes with env (KEY=value) added to the
// process's environment: a test that runs in parallel cannot t.Setenv.
func startPanoptesEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if keep := os.Getenv("PANOPTES_E2E_KEEP"); keep != "" {
			// Kept beside the test's files for a look after the test.
			name := fmt.Sprintf("%s-%d.log", args[0], p.cmd.Process.Pid)
			if len(args) > 2 && args[1] == "--config" {
				name = strings.TrimSuffix(filepath.Base(args[2]), ".yaml") + "-" + name
			}
			_ = os.WriteFile(filepath.Join(keep, name), []byte(p.log()), 0o644)
			return
		}
		if t.Failed() {
			t.Logf("panoptes %s log:\n%s", args[0], p.log())
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("panoptes run exited with %v after SIGTERM", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("panoptes run did not stop within 30s of SIGTERM")
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// readGroups decodes every line a file sink wrote: the files path was
// rotated to, oldest first (path.N … path.1), then path. Only path's last
// line may not decode (being written); any other line that does not fails
// the test. The sink rotates at 100 MiB, ~12,000 interface groups with
// rates: a test that ran long under load read only the newest file and
// missed the rest. With the default max_files (5) all kept, the oldest may
// have been deleted: the test fails rather than report a false loss.
func readGroups(t *testing.T, path string) (groups []*metric.Group, lines []string) {
	t.Helper()
	files := []string{path}
	for i := 1; ; i++ {
		rotated := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(rotated); err != nil {
			break
		}
		files = append(files, rotated)
	}
	if rotated := len(files) - 1; rotated >= filesink.DefaultMaxFiles {
		t.Fatalf("%s was rotated %d times, the file sink's default max_files: its oldest file may be gone; raise max_files (or max_size) in this test's config", path, rotated)
	}
	slices.Reverse(files)
	for _, p := range files {
		groups, lines = appendGroups(t, p, groups, lines, p == path)
	}
	return groups, lines
}

// appendGroups appends the groups and lines of one file (none when it
// does not exist: rotated away meanwhile, or not written yet). Only the
// last line of a file being written (current) may not decode.
func appendGroups(t *testing.T, path string, groups []*metric.Group, lines []string, current bool) ([]*metric.Group, []string) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return groups, lines
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var bad error // an undecodable line, allowed only as current's last
	for n := 1; sc.Scan(); n++ {
		if bad != nil {
			t.Fatalf("%s: %v (not the last line)", path, bad)
		}
		line := sc.Text()
		g, err := metric.Decode([]byte(line))
		if err != nil {
			bad = fmt.Errorf("line %d does not decode: %w", n, err)
			continue
		}
		groups = append(groups, g)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if bad != nil && !current {
		t.Fatalf("%s (a rotated file, complete): %v", path, bad)
	}
	return groups, lines
}

// statusOf returns the latest polling status per resource id.
func statusOf(groups []*metric.Group) map[string]int64 {
	st := map[string]int64{}
	for _, g := range groups {
		if g.Type == "status" {
			m, _ := g.Metric("polling_status")
			st[g.Resource.ID] = m.Value.Int64()
		}
	}
	return st
}

// ifRow is one interface as snmpbulkwalk reads it: column number → value.
type ifRow map[string]snmpagent.WalkRow

// walkInterfaces reads ifTable and ifXTable with snmpbulkwalk, by ifIndex.
func walkInterfaces(t *testing.T, args []string, addr string) map[string]map[string]snmpagent.WalkRow {
	t.Helper()
	byIndex := map[string]map[string]snmpagent.WalkRow{}
	for _, root := range []string{".1.3.6.1.2.1.2.2.1", ".1.3.6.1.2.1.31.1.1.1"} {
		for _, r := range snmpagent.BulkWalk(t, args, addr, root) {
			rest := strings.TrimPrefix(r.OID, root+".")
			col, idx, ok := strings.Cut(rest, ".")
			if !ok {
				continue
			}
			if byIndex[idx] == nil {
				byIndex[idx] = map[string]snmpagent.WalkRow{}
			}
			byIndex[idx][root+"."+col] = r
		}
	}
	return byIndex
}

func hexText(t *testing.T, v string) string {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(v, " ", ""))
	if err != nil {
		t.Fatalf("hex %q: %v", v, err)
	}
	return string(b)
}

func walkUint(t *testing.T, row map[string]snmpagent.WalkRow, oid string) (uint64, bool) {
	t.Helper()
	r, ok := row[oid]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(r.Value, 10, 64)
	if err != nil {
		t.Fatalf("%s value %q: %v", r.OID, r.Value, err)
	}
	return v, true
}

// silentUDP listens on a loopback port and never answers: a device that times out.
func silentUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return c.LocalAddr().String()
}

// garbageUDP answers every datagram with bytes that are not SNMP: an
// endpoint that is not an SNMP agent.
func garbageUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			_, addr, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo([]byte("HTTP/1.1 400 Bad Request\r\n\r\n\x30\x82\xff\xff garbage"), addr)
		}
	}()
	return c.LocalAddr().String()
}

// closedUDP returns a loopback port with nothing listening.
func closedUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

func freeTCP(t *testing.T) string { return freeport.Addr(freeport.TCP(t)) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, p *proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if p != nil && !p.alive() {
			t.Fatalf("panoptes run exited while waiting for %s: %v", what, p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNothingLost opens the stopped node's bus and checks that every message
// in the metrics stream was written by the file sink (at least once) and the
// sink's consumer has nothing pending.
func checkNothingLost(t *testing.T, dataDir, out string) {
	t.Helper()
	_, lines := readGroups(t, out)
	distinct := map[[32]byte]bool{}
	for _, l := range lines {
		distinct[sha256.Sum256([]byte(l))] = true
	}
	// One bound on the bus's part (its start, reading the stream, the
	// consumer's state): generous, as a loaded machine ran out of 20 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("reopen the bus: %v", err)
	}
	defer b.Close()
	st, err := b.JetStream().Stream(ctx, wire.MetricsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A message holds one check's groups of one type, one per line. Read
	// in batches (an ordered consumer): a request per message took over
	// 2 minutes for 1,500 messages under -race at load 23. Groups are
	// compared by hash: the stream and the file each held 200 MB of them.
	inStream := map[[32]byte]string{} // hash → a prefix, to name a lost one
	if info.State.Msgs > 0 {
		oc, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for seq := uint64(0); seq < info.State.LastSeq; {
			batch, err := oc.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				t.Fatalf("read the stream after message %d: %v", seq, err)
			}
			for m := range batch.Messages() {
				md, err := m.Metadata()
				if err != nil {
					t.Fatal(err)
				}
				seq = md.Sequence.Stream
				for data := range wire.Groups(m.Data()) {
					inStream[sha256.Sum256(data)] = string(data[:min(len(data), 200)])
				}
			}
			if err := errors.Join(batch.Error(), ctx.Err()); err != nil {
				t.Fatalf("read the stream after message %d of %d: %v", seq, info.State.LastSeq, err)
			}
		}
	}
	t.Logf("stream holds %d messages with %d distinct groups; the file has %d lines, %d distinct",
		info.State.Msgs, len(inStream), len(lines), len(distinct))
	for h, g := range inStream {
		if !distinct[h] {
			t.Errorf("a group in the stream is not in the file (metrics were lost): %s", g)
			break
		}
	}
	if len(distinct) != len(inStream) {
		t.Errorf("the file has %d distinct groups, the stream %d", len(distinct), len(inStream))
	}
	ci, err := st.Consumer(ctx, "sink_file")
	if err != nil {
		t.Fatalf("sink consumer: %v", err)
	}
	cinfo, err := ci.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cinfo.NumPending != 0 || cinfo.NumAckPending != 0 {
		t.Errorf("sink consumer still has %d pending and %d unacked messages", cinfo.NumPending, cinfo.NumAckPending)
	}
}
