// Package lldplab builds a network of Linux network namespaces for tests:
// each namespace is a "device" running its own snmpd and lldpd (with its
// AgentX subagent, lldpd -x, so snmpd serves LLDP-MIB from lldpd's real
// neighbour table), cabled to the others by veth pairs, and reachable from
// the test's namespace over a management veth pair. LLDP frames go over
// the veth links; the tests read the neighbour tables over SNMP.
//
// It needs root (CI runs as root), ip(8), snmpd and lldpd (Debian lldpd;
// scripts/install-deps.sh). Without them a test skips, and fails when CI
// is "true".
package lldplab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Community is the read-only community of every node's snmpd.
const Community = "public"

// Node is one namespace.
type Node struct {
	// Name is the node's system name (lldpd's hostname and snmpd's
	// sysName): n0, n1, ...
	Name string
	// NS is the network namespace.
	NS string
	// Addr is the node's management address, its snmpd's (port 161),
	// reachable from the test; lldpd advertises it.
	Addr string
	// Ports are the node's link ports in the order they were cabled:
	// swp1, swp2, ...
	Ports []string
	dir   string
	procs []*exec.Cmd
}

// Link is one veth pair between two nodes.
type Link struct {
	A, B         int // node indexes
	APort, BPort string
}

// Lab is a running network.
type Lab struct {
	Nodes []*Node
	Links []Link
	t     testing.TB
}

// Need skips the test when the lab cannot be built here, and fails it
// instead under CI=true.
func Need(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces)")
	}
	for _, p := range []string{"ip", "lldpd", "lldpcli", "snmpd"} {
		if lookPath(p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("lldplab needs %s (scripts/install-deps.sh installs lldpd and snmpd; run as root)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipped)")
	}
	t.Skip(msg)
}

func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

// Start builds n nodes cabled by links (pairs of node indexes), starts
// their agents and removes everything in t.Cleanup. Each node's ports are
// numbered in the order of links. Management addresses are in
// 198.18.0.0/15 (RFC 2544's benchmarking range), one /30 per node.
func Start(t testing.TB, n int, links [][2]int) *Lab {
	t.Helper()
	Need(t)
	if n > 60 {
		t.Fatalf("lldplab: %d nodes; at most 60", n)
	}
	// One lab at a time on a machine (go test runs packages in parallel):
	// their addresses and routes must not meet. Labs take seconds.
	lockLabs(t) // its cleanup runs last: after the lab is gone
	pid := os.Getpid()
	tag := strconv.Itoa(pid % 100000)
	block := pid % 250 // third octet
	lab := &Lab{t: t}
	// Not t.TempDir (mode 0700): lldpd's unprivileged part and lldpcli
	// must reach its control socket.
	dir, err := os.MkdirTemp("", "lldplab")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	t.Cleanup(lab.stop)
	for i := 0; i < n; i++ {
		nd := &Node{Name: fmt.Sprintf("n%d", i), NS: fmt.Sprintf("panoptes-%s-%d", tag, i),
			Addr: fmt.Sprintf("198.18.%d.%d", block, 4*i+2), dir: filepath.Join(dir, strconv.Itoa(i))}
		lab.Nodes = append(lab.Nodes, nd)
		if err := os.MkdirAll(filepath.Join(nd.dir, "persist"), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = exec.Command("ip", "netns", "del", nd.NS).Run() // a leftover of a killed run
		mgmt := fmt.Sprintf("pl%sm%d", tag, i)
		_ = exec.Command("ip", "link", "del", mgmt).Run()
		lab.ip("netns", "add", nd.NS)
		lab.ip("-n", nd.NS, "link", "set", "lo", "up")
		lab.ip("link", "add", mgmt, "type", "veth", "peer", "name", "mgmt", "netns", nd.NS)
		lab.ip("addr", "add", fmt.Sprintf("198.18.%d.%d/30", block, 4*i+1), "dev", mgmt)
		lab.ip("link", "set", mgmt, "up")
		lab.ip("-n", nd.NS, "addr", "add", nd.Addr+"/30", "dev", "mgmt")
		lab.ip("-n", nd.NS, "link", "set", "mgmt", "up")
	}
	for _, l := range links {
		a, b := lab.Nodes[l[0]], lab.Nodes[l[1]]
		link := Link{A: l[0], B: l[1], APort: fmt.Sprintf("swp%d", len(a.Ports)+1), BPort: fmt.Sprintf("swp%d", len(b.Ports)+1)}
		a.Ports, b.Ports = append(a.Ports, link.APort), append(b.Ports, link.BPort)
		lab.ip("-n", a.NS, "link", "add", link.APort, "type", "veth", "peer", "name", link.BPort, "netns", b.NS)
		lab.ip("-n", a.NS, "link", "set", link.APort, "up")
		lab.ip("-n", b.NS, "link", "set", link.BPort, "up")
		lab.Links = append(lab.Links, link)
	}
	for _, nd := range lab.Nodes {
		lab.startAgents(nd, block)
	}
	for _, nd := range lab.Nodes {
		lab.awaitName(nd)
	}
	return lab
}

// awaitName waits until nd's lldpd names itself nd.Name. It starts with
// the machine's hostname and takes its configuration (lldpcli -c) a moment
// later: a test that polled then saw the LLDP-MIB's local system name
// "vm" (TestPollLLDPD in CI, 2026-12-07).
func (lab *Lab) awaitName(nd *Node) {
	lab.t.Helper()
	want := "local-chassis.chassis.name=" + nd.Name + "\n"
	var out []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, _ = exec.Command(lookPath("lldpcli"), "-u", filepath.Join(nd.dir, "lldpd.socket"), "-f", "keyvalue", "show", "chassis").CombinedOutput()
		if strings.Contains(string(out), want) {
			return
		}
	}
	lab.t.Fatalf("lldplab: lldpd of %s did not name itself %s in 15 s; lldpcli show chassis:\n%s", nd.NS, nd.Name, out)
}

// Exclude keeps labs from starting, after waiting for a running one to
// end, until t ends. A lab adds interfaces to this host's namespace (its
// management veths): a test that compares this host's interface table
// over seconds (an snmpd agent's ifTable polled against snmpbulkwalk's)
// saw them come and go (TestRunEndToEnd in CI: 10 interface groups,
// snmpbulkwalk had 4).
func Exclude(t testing.TB) {
	t.Helper()
	lockLabs(t)
}

// lockLabs takes the machine's lab lock until t ends.
func lockLabs(t testing.TB) {
	t.Helper()
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "panoptes-lldplab.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lldplab: lock: %v", err)
	}
	t.Cleanup(func() { _ = lock.Close() })
}

func (lab *Lab) ip(args ...string) {
	lab.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		lab.t.Fatalf("lldplab: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// startAgents starts snmpd (AgentX master) and lldpd (its subagent) in
// nd's namespace. lldpd sends LLDP every second from its swp ports only,
// names itself nd.Name and advertises nd.Addr.
func (lab *Lab) startAgents(nd *Node, block int) {
	t := lab.t
	t.Helper()
	agentx := filepath.Join(nd.dir, "agentx")
	conf := fmt.Sprintf("rocommunity %s 198.18.%d.0/24\nmaster agentx\nagentXSocket %s\nsysName %s\ndontLogTCPWrappersConnects yes\n",
		Community, block, agentx, nd.Name)
	if err := os.WriteFile(filepath.Join(nd.dir, "snmpd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	snmpd := exec.Command("ip", "netns", "exec", nd.NS, lookPath("snmpd"), "-f", "-C", "-c", filepath.Join(nd.dir, "snmpd.conf"),
		"-Lf", filepath.Join(nd.dir, "snmpd.log"), "-p", filepath.Join(nd.dir, "snmpd.pid"), "udp:"+nd.Addr+":161")
	snmpd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(nd.dir, "persist"), "MIBS=")
	lab.start(nd, snmpd, "snmpd.out")
	// lldpd connects to the AgentX socket when it is there (and retries).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(agentx); err == nil {
			break
		}
	}
	lconf := fmt.Sprintf("configure system hostname %s\nconfigure lldp tx-interval 1\n", nd.Name)
	if err := os.WriteFile(filepath.Join(nd.dir, "lldpd.conf"), []byte(lconf), 0o644); err != nil { // lldpcli reads it unprivileged
		t.Fatal(err)
	}
	lldpd := exec.Command("ip", "netns", "exec", nd.NS, lookPath("lldpd"), "-d", "-x", "-X", agentx,
		"-u", filepath.Join(nd.dir, "lldpd.socket"), "-I", "swp*", "-m", nd.Addr, "-O", filepath.Join(nd.dir, "lldpd.conf"))
	lab.start(nd, lldpd, "lldpd.out")
}

func (lab *Lab) start(nd *Node, cmd *exec.Cmd, logName string) {
	lab.t.Helper()
	out, err := os.Create(filepath.Join(nd.dir, logName))
	if err != nil {
		lab.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		lab.t.Fatalf("lldplab: %s in %s: %v", cmd.Args[4], nd.NS, err)
	}
	go func() { _ = cmd.Wait(); _ = out.Close() }()
	nd.procs = append(nd.procs, cmd)
}

// SetLink takes link i (of Links) down or up, from its A end.
func (lab *Lab) SetLink(i int, up bool) {
	l := lab.Links[i]
	state := "down"
	if up {
		state = "up"
	}
	lab.ip("-n", lab.Nodes[l.A].NS, "link", "set", l.APort, state)
}

// Logs returns the nodes' agent output, for a failing test.
func (lab *Lab) Logs() string {
	var b strings.Builder
	for _, nd := range lab.Nodes {
		for _, f := range []string{"lldpd.out", "snmpd.out", "snmpd.log"} {
			data, _ := os.ReadFile(filepath.Join(nd.dir, f))
			if len(data) > 1500 {
				data = data[len(data)-1500:]
			}
			if len(data) > 0 {
				fmt.Fprintf(&b, "--- %s %s:\n%s\n", nd.Name, f, data)
			}
		}
	}
	return b.String()
}

// stop ends the agents (their process groups) and removes the namespaces
// (which removes their veths, and so the management pairs' far ends).
func (lab *Lab) stop() {
	if lab.t.Failed() {
		lab.t.Logf("lldplab logs:\n%s", lab.Logs())
	}
	for _, nd := range lab.Nodes {
		for _, p := range nd.procs {
			if p.Process != nil {
				_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
			}
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, nd := range lab.Nodes {
		for {
			out, _ := exec.Command("ip", "netns", "pids", nd.NS).Output()
			pids := strings.Fields(string(out))
			if len(pids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				for _, p := range pids {
					if n, err := strconv.Atoi(p); err == nil {
						_ = syscall.Kill(n, syscall.SIGKILL)
					}
				}
				time.Sleep(50 * time.Millisecond)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = exec.Command("ip", "netns", "del", nd.NS).Run()
	}
}
