package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/ber"
	"github.com/panoptes-go/panoptes/internal/testutil/snmpagent"
)

const ciscoRecording = "cisco_16_switch"

// simUsers are snmpagent's net-snmp users (every auth and privacy
// protocol net-snmp speaks) plus snmpsim's user, as farm users.
func simUsers() []V3User {
	var out []V3User
	for _, u := range append(append([]snmpagent.V3User{}, snmpagent.SnmpdUsers...), snmpagent.SnmpsimUser) {
		out = append(out, V3User{Name: u.Name, AuthProto: u.AuthProto, AuthPass: u.AuthPass, PrivProto: u.PrivProto, PrivPass: u.PrivPass})
	}
	return out
}

// startCiscoFarm serves cisco_16_switch with a clock that never moves, so
// living values equal the recorded ones, as snmpsim serves them.
func startCiscoFarm(t *testing.T) *Device {
	t.Helper()
	if _, err := os.Stat(SnmpsimExamples + "/" + ciscoRecording + ".snmprec.gz"); err != nil {
		snmpagent.Need(t, "snmpsimd") // skips, or fails in CI, with the install hint
	}
	clock := newTestClock()
	f := startFarm(t, Options{Templates: []string{ciscoRecording}, V3Users: simUsers(), Now: clock.Now})
	return f.Devices()[0]
}

func diffRows(t *testing.T, what string, got, want []snmpagent.WalkRow) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: no rows", what)
	}
	n := 0
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w snmpagent.WalkRow
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			if n++; n <= 5 {
				t.Errorf("%s row %d:\n got %v\nwant %v", what, i, g, w)
			}
		}
	}
	if n > 0 {
		t.Errorf("%s: %d of %d rows differ (got %d rows, want %d)", what, n, len(want), len(got), len(want))
	}
}

// TestMatchesSnmpsim: net-snmp's tools print the same varbinds against the
// simulator as against snmpsim serving the same recording: v2c bulk walks,
// SNMPv1 (GETNEXT, no Counter64), SNMPv3, and GETBULK with non-repeaters.
func TestMatchesSnmpsim(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpsimd", "snmpbulkwalk", "snmpwalk", "snmpbulkget")
	ref := snmpagent.StartSnmpsim(t, ciscoRecording)
	d := startCiscoFarm(t)
	v2 := []string{"-v2c", "-c", "public"}
	refV2 := []string{"-v2c", "-c", ref.Community}

	t.Run("v2c walk", func(t *testing.T) {
		// the subtrees a poller reads, and the end of the MIB; the whole
		// recording is compared in TestFullWalkMatchesRecording (snmpsim
		// needs 10-40 s to walk it: set SIM_FULL_SNMPSIM=1 for that too)
		roots := []string{".1.3.6.1.2.1.1.9.1.2", ".1.3.6.1.2.1.2", ".1.3.6.1.2.1.10.7", ".1.3.6.1.2.1.31",
			".1.3.6.1.2.1.47.1.1.1.1.13", ".1.3.6.1.6.3.13.1.3.1.5.36"}
		if os.Getenv("SIM_FULL_SNMPSIM") == "1" {
			roots = []string{".1"}
		}
		for _, root := range roots {
			got := netsnmp(t, "snmpbulkwalk", append(v2, "-Cr100"), d.Addr, root)
			want := netsnmp(t, "snmpbulkwalk", append(refV2, "-Cr100"), ref.Addr(), root)
			diffRows(t, "v2c "+root, got, want)
		}
	})
	t.Run("v1 walk", func(t *testing.T) {
		for _, root := range []string{".1.3.6.1.2.1.1.5", ".1.3.6.1.2.1.31.1.1.1"} { // the second skips Counter64 columns
			got := netsnmp(t, "snmpwalk", []string{"-v1", "-c", "public"}, d.Addr, root)
			want := netsnmp(t, "snmpwalk", []string{"-v1", "-c", ref.Community}, ref.Addr(), root)
			diffRows(t, "v1 "+root, got, want)
		}
	})
	t.Run("v3 walk", func(t *testing.T) {
		u := snmpagent.SnmpsimUser
		for _, root := range []string{".1.3.6.1.2.1.2", ".1.3.6.1.2.1.31.1.1.1.18"} {
			got := snmpagent.BulkWalk(t, u.Args(), d.Addr, root)
			want := snmpagent.BulkWalk(t, append(u.Args(), "-n", ref.Community), ref.Addr(), root)
			diffRows(t, "v3 "+root, got, want)
		}
	})
	t.Run("getbulk non-repeaters", func(t *testing.T) {
		oids := []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.31.1.1.1.6"}
		args := []string{"-Cn2", "-Cr7"}
		got := netsnmp(t, "snmpbulkget", append(v2, args...), d.Addr, oids...)
		want := netsnmp(t, "snmpbulkget", append(refV2, args...), ref.Addr(), oids...)
		diffRows(t, "getbulk", got, want)
		if len(got) != 2+2*7 {
			t.Errorf("%d varbinds, want 16", len(got))
		}
	})
}

// netsnmp runs a net-snmp tool with numeric output and parses its rows.
func netsnmp(t *testing.T, tool string, args []string, addr string, oids ...string) []snmpagent.WalkRow {
	t.Helper()
	out, err := runNetSNMP(tool, args, addr, oids...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(oids, " "), err, out)
	}
	rows, err := snmpagent.ParseNetSNMP(out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	return rows
}

func runNetSNMP(tool string, args []string, addr string, oids ...string) (string, error) {
	timeout := 30 * time.Second
	if os.Getenv("SIM_FULL_SNMPSIM") == "1" {
		timeout = 5 * time.Minute // snmpsim walks about 2,000 varbinds/s, slower under load
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append(append(append([]string{"-On", "-Oe", "-Ox", "-OU", "-t", "2", "-r", "1"}, args...), addr), oids...)
	cmd := exec.CommandContext(ctx, tool, full...)
	cmd.Env = append(os.Environ(), "MIBS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestSnmpgetSemantics: missing objects as net-snmp's snmpget shows them:
// noSuchObject/noSuchInstance for v2c and v3, a noSuchName error for v1.
func TestSnmpgetSemantics(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpget")
	d := startCiscoFarm(t)
	oids := []string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.5.1", ".1.3.6.1.2.1.99.1", ".1.3.6.1.2.1.2.2.1.2.999", ".1.3.6.1.2.1.31.1.1.1.6.60"}
	for _, args := range [][]string{{"-v2c", "-c", "public"}, snmpagent.SnmpdUsers[0].Args()} {
		out, err := runNetSNMP("snmpget", args, d.Addr, oids...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		for _, want := range []string{
			".1.3.6.1.2.1.1.5.0 = Hex-STRING: 50 72 6F 66 69 6C 65 72 33 37 35 30",
			".1.3.6.1.2.1.1.5.1 = No Such Instance currently exists at this OID",
			".1.3.6.1.2.1.99.1 = No Such Object available on this agent at this OID",
			".1.3.6.1.2.1.2.2.1.2.999 = No Such Instance currently exists at this OID",
			".1.3.6.1.2.1.31.1.1.1.6.60 = Counter64: 37505809994",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", args[0], want, out)
			}
		}
	}
	out, _ := runNetSNMP("snmpget", []string{"-v1", "-c", "public"}, d.Addr, oids[:3]...)
	for _, want := range []string{"(noSuchName) There is no such variable name in this MIB.", "Failed object: .1.3.6.1.2.1.1.5.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("v1: output lacks %q:\n%s", want, out)
		}
	}
	// end of the MIB: endOfMibView (v2c), noSuchName (v1)
	last := ".1.3.6.1.6.3.13.1.3.1.5.36.116.114.97.112.104.111.115.116.46.115.117.114.101.110.100.114.97.49.46.49.48.46.50.48.52.46.56.56.46.49.53.56.46.49.54.50.1.2.840.10036"
	if out, _ := runNetSNMP("snmpgetnext", []string{"-v2c", "-c", "public"}, d.Addr, last); !strings.Contains(out, "No more variables left in this MIB View") {
		t.Errorf("v2c getnext at the end:\n%s", out)
	}
	if out, _ := runNetSNMP("snmpgetnext", []string{"-v1", "-c", "public"}, d.Addr, last); !strings.Contains(out, "noSuchName") {
		t.Errorf("v1 getnext at the end:\n%s", out)
	}
}

// TestNetSNMPUsers: every auth/privacy combination net-snmp speaks walks
// the same system group as v2c; wrong secrets fail.
func TestNetSNMPUsers(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpbulkwalk", "snmpget")
	d := startCiscoFarm(t)
	want := snmpagent.BulkWalk(t, []string{"-v2c", "-c", "public"}, d.Addr, ".1.3.6.1.2.1.1.9.1.2")
	for _, u := range snmpagent.SnmpdUsers {
		got := snmpagent.BulkWalk(t, u.Args(), d.Addr, ".1.3.6.1.2.1.1.9.1.2")
		diffRows(t, fmt.Sprintf("user %s (%s/%s)", u.Name, u.AuthProto, u.PrivProto), got, want)
	}
	for _, c := range []struct {
		u    snmpagent.V3User
		want string
	}{
		{snmpagent.V3User{Name: "panoptes-sha-aes", Level: "authPriv", AuthProto: "SHA", AuthPass: "not-the-auth-pass", PrivProto: "AES", PrivPass: "sha-aes-priv-pass"}, "Authentication failure"},
		{snmpagent.V3User{Name: "nobody-here", Level: "authNoPriv", AuthProto: "SHA", AuthPass: "whatever-pass"}, "Unknown user name"},
		{snmpagent.V3User{Name: "panoptes-sha-aes", Level: "authPriv", AuthProto: "SHA", AuthPass: "sha-aes-auth-pass", PrivProto: "AES", PrivPass: "not-the-priv-pass"}, "Timeout"}, // dropped, as net-snmp does
		{snmpagent.V3User{Name: "panoptes-sha-aes", Level: "noAuthNoPriv"}, "authorizationError"},
		{snmpagent.V3User{Name: "panoptes-noauth", Level: "authNoPriv", AuthProto: "MD5", AuthPass: "whatever-pass"}, "Unsupported security level"},
	} {
		out, err := runNetSNMP("snmpget", append(c.u.Args(), "-t", "0.3", "-r", "0"), d.Addr, ".1.3.6.1.2.1.1.5.0")
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s %s: want a failure with %q, got %v:\n%s", c.u.Name, c.u.Level, c.want, err, out)
		}
	}
}

// TestFullWalkMatchesRecording: snmpbulkwalk of the whole cisco_16_switch
// recording prints every record of the file, in order, with its type and
// value, read here by an independent minimal snmprec reader.
func TestFullWalkMatchesRecording(t *testing.T) {
	integration(t)
	snmpagent.Need(t, "snmpbulkwalk")
	d := startCiscoFarm(t)
	got := snmpagent.BulkWalk(t, []string{"-v2c", "-c", "public", "-Cr50"}, d.Addr, ".1")
	diffRows(t, "full walk", got, snmprecRows(t, SnmpsimExamples+"/"+ciscoRecording+".snmprec.gz"))
}

// snmprecRows renders a recording's lines as snmpbulkwalk prints them.
func snmprecRows(t *testing.T, path string) []snmpagent.WalkRow {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	spaced := func(b []byte) string {
		h := strings.ToUpper(hex.EncodeToString(b))
		var sb strings.Builder
		for i := 0; i < len(h); i += 2 {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(h[i : i+2])
		}
		return sb.String()
	}
	names := map[string]string{"2": "INTEGER", "6": "OID", "65": "Counter32", "66": "Gauge32", "67": "Timeticks", "70": "Counter64"}
	var rows []snmpagent.WalkRow
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("%s: line %q", path, line)
		}
		r := snmpagent.WalkRow{OID: "." + parts[0]}
		switch tag, v := parts[1], parts[2]; tag {
		case "4":
			r.Type, r.Value = "Hex-STRING", spaced([]byte(v))
		case "4x":
			b, _ := hex.DecodeString(v)
			r.Type, r.Value = "Hex-STRING", spaced(b)
		case "64x":
			b, _ := hex.DecodeString(v)
			r.Type, r.Value = "IpAddress", net.IP(b).String()
		case "6":
			r.Type, r.Value = "OID", "."+v
		default:
			if names[tag] == "" {
				t.Fatalf("%s: tag %s not handled by this reader", path, tag)
			}
			r.Type, r.Value = names[tag], v
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := ber.ParseOID(rows[i].OID)
		b, _ := ber.ParseOID(rows[j].OID)
		return ber.CompareArcs(a, b) < 0
	})
	return rows
}
