package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// readGroups decodes every line a file sink wrote so far, once (see
// sinkReader): a wait that reads the file again and again follows it with
// a sinkReader instead.
func readGroups(t testing.TB, path string) (groups []*metric.Group, lines []string) {
	t.Helper()
	r := &sinkReader{path: path}
	defer r.close()
	return r.read(t)
}

// sinkReader follows a file sink's output: each read decodes only what was
// appended since the last one, so a wait that reads the file every few
// hundred milliseconds costs the file once over a test, not once per poll
// (readGroups per poll decoded the whole growing file each time: O(n²)
// over a test, on a CI machine already loaded by the processes under
// test). It keeps every group and line read, in file order: the files
// path was rotated to, oldest first (path.N … path.1), then path.
//
// A line counts once its newline is in the file (the sink writes each
// line and its newline in one flush): a cut last line of the file being
// written is read again at the next read. Any line that ends and does not
// decode fails the test, as does a cut last line of a rotated (complete)
// file. Rotation is followed by file identity: the file read so far is
// found again among path.1 …, its rest and the files rotated after it
// are read, then the new path. If it is no longer there (rotated past
// max_files and deleted), or the first read finds max_files rotated files
// (the oldest may be gone), the test fails rather than report a false
// loss. The sink cuts a failed batch off the file again: a file shorter
// than what was read of it is read again from its start.
type sinkReader struct {
	path   string
	groups []*metric.Group
	lines  []string

	f      *os.File    // the newest file read, nil before the first
	info   os.FileInfo // f's, to find it again after a rotation
	off    int64       // bytes of f read: whole lines
	lineNo int         // lines of f read
	start  int         // index in groups of f's first group
	buf    []byte

	// kills are where the sink's process was killed (killed): a SIGKILL
	// may cut the line being written, which the restarted sink ends with
	// a newline (docs/DESIGN.md, the guarantees). A line that does not
	// decode is skipped rather than failing the test only when it is such
	// a line: in the file written at a kill, starting before its size then
	// and ended by the newline at that size. Any other fails the test.
	kills    []killMark
	cut      []string // the lines skipped, for the test's log
	cutStart int      // len(cut) at f's start
}

// killMark is the file a sink was writing when its process was killed,
// and the file's size then.
type killMark struct {
	info os.FileInfo
	size int64
}

// killed records that the sink's process was killed: call it once the
// process has exited, before it is restarted. With no file at path (the
// kill fell between a rotation's rename and the new file's open) nothing
// was cut: a file is synced before it is rotated.
func (r *sinkReader) killed(t testing.TB) {
	t.Helper()
	st, err := os.Stat(r.path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	r.kills = append(r.kills, killMark{st, st.Size()})
}

// cutByKill reports whether the line of f from start to its newline at
// nl is the one a kill cut (see kills).
func (r *sinkReader) cutByKill(start, nl int64) bool {
	return slices.ContainsFunc(r.kills, func(k killMark) bool {
		return os.SameFile(r.info, k.info) && start < k.size && nl == k.size
	})
}

// newSinkReader follows path; its files are closed when the test ends.
func newSinkReader(t *testing.T, path string) *sinkReader {
	r := &sinkReader{path: path}
	t.Cleanup(r.close)
	return r
}

func (r *sinkReader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// read reads what was appended since the last read and returns every group
// and line read so far (not to be modified).
func (r *sinkReader) read(t testing.TB) (groups []*metric.Group, lines []string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if r.f != nil {
			r.drain(t, false)
			if st, err := os.Stat(r.path); err == nil && os.SameFile(st, r.info) {
				break // still the file being written
			}
		}
		// path is a new file (or none, for a moment while the sink
		// rotates): open it and the rotated files newer than f, then check
		// that no rotation moved them meanwhile.
		cur, rotated, found, ok := r.openNewer(t)
		if !ok {
			if attempt > 100 {
				t.Fatalf("%s: its files kept moving while being opened", r.path)
			}
			continue
		}
		defer func() { // those not followed, when the test fails
			for _, f := range append(rotated, cur) {
				if f != nil && f != r.f {
					_ = f.Close()
				}
			}
		}()
		if r.f != nil && !found {
			t.Fatalf("%s: the file read so far was rotated past the file sink's default max_files (%d) and deleted, unread; raise max_files (or max_size) in this test's config", r.path, filesink.DefaultMaxFiles)
		}
		if r.f == nil && len(rotated) >= filesink.DefaultMaxFiles {
			t.Fatalf("%s was rotated %d times, the file sink's default max_files: its oldest file may be gone; raise max_files (or max_size) in this test's config", r.path, len(rotated))
		}
		if r.f != nil {
			r.drain(t, true) // complete: it was rotated
		}
		for i := len(rotated) - 1; i >= 0; i-- { // oldest first
			r.follow(rotated[i])
			r.drain(t, true)
		}
		if cur == nil {
			break // read again once the sink opened path
		}
		r.follow(cur)
	}
	n := len(r.groups)
	return r.groups[:n:n], r.lines[:n:n]
}

// openNewer opens path (cur, nil when there is none) and the rotated files
// newer than f (all of them before the first read), newest first; found
// when f was among the rotated ones. ok is false when the names moved
// while they were opened (a rotation): nothing is left open then.
func (r *sinkReader) openNewer(t testing.TB) (cur *os.File, rotated []*os.File, found, ok bool) {
	t.Helper()
	open := func(p string) *os.File {
		f, err := os.Open(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return f
	}
	names := []string{r.path}
	cur = open(r.path)
	for i := 1; ; i++ {
		p := r.path + "." + strconv.Itoa(i)
		f := open(p)
		if f == nil {
			break
		}
		if r.f != nil && sameFile(f, r.info) {
			_ = f.Close()
			names = append(names, p)
			found = true
			break
		}
		rotated = append(rotated, f)
		names = append(names, p)
	}
	// Unchanged names: each still names the file opened (or none).
	files := append([]*os.File{cur}, rotated...)
	for i, p := range names {
		st, err := os.Stat(p)
		switch {
		case i == len(files): // f's name
			ok = err == nil && os.SameFile(st, r.info)
		case files[i] == nil:
			ok = os.IsNotExist(err)
		default:
			ok = err == nil && sameFile(files[i], st)
		}
		if !ok {
			closeAll(cur, rotated)
			return nil, nil, false, false
		}
	}
	return cur, rotated, found, true
}

func sameFile(f *os.File, info os.FileInfo) bool {
	st, err := f.Stat()
	return err == nil && os.SameFile(st, info)
}

func closeAll(cur *os.File, rotated []*os.File) {
	for _, f := range append(rotated, cur) {
		if f != nil {
			_ = f.Close()
		}
	}
}

// follow makes f the file read from now on, from its start.
func (r *sinkReader) follow(f *os.File) {
	st, err := f.Stat()
	if err != nil {
		panic(err) // an open file: cannot happen
	}
	r.close()
	r.f, r.info, r.off, r.lineNo, r.start, r.cutStart = f, st, 0, 0, len(r.groups), len(r.cut)
}

// drain reads f from where the last read of it stopped. A complete file
// (rotated) is read to its end: a last line without a newline must
// decode; otherwise that line is left for the next read.
func (r *sinkReader) drain(t testing.TB, complete bool) {
	t.Helper()
	st, err := r.f.Stat()
	if err != nil {
		t.Fatalf("stat %s: %v", r.f.Name(), err)
	}
	if st.Size() < r.off { // a batch cut off again: read the file anew
		// Not cleared: callers may hold the slices returned before.
		r.groups, r.lines = r.groups[:r.start], r.lines[:r.start]
		r.off, r.lineNo = 0, 0
		r.cut = r.cut[:r.cutStart]
	}
	for r.off < st.Size() {
		// Up to what the file holds now, in pieces of at least 1 MiB.
		n := int(min(st.Size()-r.off, max(1<<20, int64(cap(r.buf)))))
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		b := r.buf[:n]
		m, err := r.f.ReadAt(b, r.off)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read %s: %v", r.f.Name(), err)
		}
		b = b[:m]
		end := bytes.LastIndexByte(b, '\n') + 1
		if end == 0 {
			switch {
			case m == n && int64(m) < st.Size()-r.off: // a line longer than the buffer
				r.buf = make([]byte, 2*cap(r.buf))
				continue
			case m < n: // cut off again since the stat: read anew next time
				return
			case complete:
				end = m // the cut last line of a complete file
			default:
				return // a cut last line: read it again next time
			}
		}
		start := r.off // of the line
		for line := range bytes.Lines(b[:end]) {
			r.lineNo++
			whole := len(line)
			line, ended := bytes.CutSuffix(line, []byte("\n"))
			g, err := metric.Decode(line)
			if err != nil && ended && r.cutByKill(start, start+int64(len(line))) {
				r.cut = append(r.cut, fmt.Sprintf("%s line %d (bytes %d-%d): %v", r.f.Name(), r.lineNo, start, start+int64(len(line)), err))
				start += int64(whole)
				continue
			}
			if err != nil {
				what := "not the last line"
				if complete {
					what = "a rotated file, complete"
				}
				t.Fatalf("%s: line %d (bytes %d-%d) does not decode (%s, nor the line a kill cut: %d kills marked): %v",
					r.f.Name(), r.lineNo, start, start+int64(len(line)), what, len(r.kills), err)
			}
			start += int64(whole)
			r.groups = append(r.groups, g)
			r.lines = append(r.lines, string(line))
		}
		r.off += int64(end)
		if m < n {
			return // the file is shorter than its stat said: cut off again, read next time
		}
	}
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
// sink's consumer has nothing pending. kills are the follower's of the file
// (sinkReader.killed): the only lines that may not decode are those cut there.
func checkNothingLost(t *testing.T, dataDir, out string, kills []killMark) {
	t.Helper()
	r := &sinkReader{path: out, kills: kills}
	defer r.close()
	_, lines := r.read(t)
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
