package enrich_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

var baseRes = &resource.Resource{Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco",
	ID: "sw1", Endpoint: "127.0.0.1", Plugin: "test"}

func v2c(host string, port int, community string) snmp.Target {
	return snmp.Target{Host: host, Port: port, Credential: &snmp.Credential{Version: "2c", Community: community},
		Timeout: 2 * time.Second, Retries: 1, MaxRepetitions: snmp.DefaultMaxRepetitions}
}

// rwSnmpd starts net-snmp's snmpd with a read-write community, so a test
// can change ifAlias with a SET (net-snmp implements IF-MIB ifAlias as
// writable). It skips without snmpd, and fails instead in CI.
func rwSnmpd(t *testing.T) (port int, ro, rw string) {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		bin = "/usr/sbin/snmpd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("snmpd not installed: %v", err)
		}
		t.Skip("snmpd not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	ro, rw = "public", "enrich-rw"
	if err := os.WriteFile(conf, []byte("rocommunity "+ro+" 127.0.0.1\nrwcommunity "+rw+" 127.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		port = freeUDPPort(t)
		cmd := exec.Command(bin, "-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "log"),
			"-p", filepath.Join(dir, "pid"), fmt.Sprintf("udp:127.0.0.1:%d", port))
		cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: ro, Version: gosnmp.Version2c,
				Timeout: 300 * time.Millisecond, Retries: 0}
			if g.Connect() == nil {
				_, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"})
				_ = g.Conn.Close()
				if err == nil {
					return port, ro, rw
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Fatal("snmpd did not start")
	return
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// setAlias SETs ifAlias.idx through the read-write community.
func setAlias(t *testing.T, port int, rw string, idx int, alias string) {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: rw, Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	r, err := g.Set([]gosnmp.SnmpPDU{{Name: fmt.Sprintf(".1.3.6.1.2.1.31.1.1.1.18.%d", idx), Type: gosnmp.OctetString, Value: []byte(alias)}})
	if err != nil || r.Error != gosnmp.NoError {
		t.Fatalf("SET ifAlias.%d: %v %v", idx, err, r)
	}
}

// byName indexes interface groups by interface_name.
func byName(groups []*metric.Group) map[string]*metric.Group {
	m := map[string]*metric.Group{}
	for _, g := range groups {
		m[g.Dimension("interface_name")] = g
	}
	return m
}

// stepClock is a settable clock for the cache's refresh decisions.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }
