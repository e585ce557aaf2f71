// Package snmpagent starts real SNMP agents for tests: net-snmp's snmpd with
// a generated configuration (community and SNMPv3 users) and snmpsimd
// replaying recorded devices, and runs net-snmp's snmpbulkwalk as ground
// truth. Agents listen on free loopback UDP ports and stop in t.Cleanup.
package snmpagent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Agent is a running agent.
type Agent struct {
	Host      string
	Port      int
	Community string            // v1/v2c community (snmpsim: the default recording)
	V3        map[string]V3User // by username
	LogFile   string            // the agent's log, shown when a test fails
}

// Addr is host:port.
func (a *Agent) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// V3User is one SNMPv3 USM user configured in the agent. Protocol names are
// net-snmp's command-line spellings without dashes (SHA256, AES256); Level is
// noAuthNoPriv, authNoPriv or authPriv.
type V3User struct {
	Name, Level, AuthProto, AuthPass, PrivProto, PrivPass string
}

// Args are the snmpget/snmpbulkwalk options that authenticate as u.
func (u V3User) Args() []string {
	args := []string{"-v3", "-l", u.Level, "-u", u.Name}
	if u.AuthProto != "" {
		args = append(args, "-a", netsnmpProto(u.AuthProto), "-A", u.AuthPass)
	}
	if u.PrivProto != "" {
		args = append(args, "-x", netsnmpProto(u.PrivProto), "-X", u.PrivPass)
	}
	return args
}

// netsnmpProto spells SHA256 as SHA-256 and AES256 as AES-256.
func netsnmpProto(p string) string {
	for _, pre := range []string{"SHA", "AES"} {
		if len(p) > len(pre) && p[:len(pre)] == pre {
			return pre + "-" + p[len(pre):]
		}
	}
	return p
}

// Need skips the test when one of the binaries is not on PATH, and fails it
// instead when the environment variable CI is "true" (nothing skips in CI).
func Need(t testing.TB, binaries ...string) {
	t.Helper()
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found on PATH (CI=true: install the Debian packages snmp, snmpd, snmpsim)", b)
			}
			t.Skipf("%s not found on PATH; install the Debian packages snmp, snmpd, snmpsim", b)
		}
	}
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free UDP port: %v", err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	_ = c.Close()
	return port
}

// waitAnswers polls the agent with a v2c GET of sysDescr until it answers or
// the process exits or deadline passes.
func waitAnswers(addr string, port int, community string, exited <-chan struct{}, deadline time.Duration) error {
	end := time.Now().Add(deadline)
	var last error
	for time.Now().Before(end) {
		select {
		case <-exited:
			return fmt.Errorf("agent exited during startup")
		default:
		}
		g := &gosnmp.GoSNMP{
			Target: addr, Port: uint16(port), Community: community, Version: gosnmp.Version2c,
			Timeout: 200 * time.Millisecond, Retries: 0, Transport: "udp",
		}
		if last = g.Connect(); last == nil {
			var pkt *gosnmp.SnmpPacket
			pkt, last = g.Get([]string{".1.3.6.1.2.1.1.1.0"})
			_ = g.Close()
			if last == nil && len(pkt.Variables) == 1 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("agent did not answer a GET of sysDescr within %v: %v", deadline, last)
}

// dumpLog prints the agent's log when the test failed.
func dumpLog(t testing.TB, path string) {
	if !t.Failed() || path == "" {
		return
	}
	if b, err := os.ReadFile(path); err == nil {
		if len(b) > 8192 {
			b = b[len(b)-8192:]
		}
		t.Logf("agent log %s (tail):\n%s", path, b)
	}
}
