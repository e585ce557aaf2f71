package snmpagent

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestParseNetSNMP(t *testing.T) {
	out := `.1.3.6.1.2.1.1.1.0 = Hex-STRING: 43 69 73 63 6F 20 49 4F 53 20 53 6F 66 74 77 61 
72 65 2C 20 
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.516
.1.3.6.1.2.1.1.3.0 = Timeticks: (697202257) 80 days, 16:40:22.57
.1.3.6.1.2.1.1.4.0 = ""
.1.3.6.1.2.1.1.7.0 = INTEGER: 6
.1.3.6.1.2.1.4.20.1.1.10.204.88.16 = IpAddress: 10.204.88.16
.1.3.6.1.2.1.31.1.1.1.6.60 = Counter64: 37505809994
.1.3.6.1.2.1.31.1.1.1.6.60 = No more variables left in this MIB View (It is past the end of the MIB tree)
`
	got, err := ParseNetSNMP(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []WalkRow{
		{".1.3.6.1.2.1.1.1.0", "Hex-STRING", "43 69 73 63 6F 20 49 4F 53 20 53 6F 66 74 77 61 72 65 2C 20"},
		{".1.3.6.1.2.1.1.2.0", "OID", ".1.3.6.1.4.1.9.1.516"},
		{".1.3.6.1.2.1.1.3.0", "Timeticks", "697202257"},
		{".1.3.6.1.2.1.1.4.0", "Hex-STRING", ""},
		{".1.3.6.1.2.1.1.7.0", "INTEGER", "6"},
		{".1.3.6.1.2.1.4.20.1.1.10.204.88.16", "IpAddress", "10.204.88.16"},
		{".1.3.6.1.2.1.31.1.1.1.6.60", "Counter64", "37505809994"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
	if _, err := ParseNetSNMP("Timeout: No Response from 127.0.0.1:161\n"); err == nil {
		t.Fatal("garbage parsed without error")
	}
}

func TestRowOf(t *testing.T) {
	cases := []struct {
		pdu  gosnmp.SnmpPDU
		want WalkRow
	}{
		{gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.OctetString, Value: []byte("Fa3/0/1")}, WalkRow{".1.3", "Hex-STRING", "46 61 33 2F 30 2F 31"}},
		{gosnmp.SnmpPDU{Name: "1.3", Type: gosnmp.OctetString, Value: []byte{}}, WalkRow{".1.3", "Hex-STRING", ""}},
		{gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.Counter64, Value: uint64(18446744073709551615)}, WalkRow{".1.3", "Counter64", "18446744073709551615"}},
		{gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.TimeTicks, Value: uint32(697202257)}, WalkRow{".1.3", "Timeticks", "697202257"}},
		{gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.Integer, Value: -5}, WalkRow{".1.3", "INTEGER", "-5"}},
	}
	for _, c := range cases {
		if got := RowOf(c.pdu); got != c.want {
			t.Errorf("RowOf(%v) = %+v, want %+v", c.pdu, got, c.want)
		}
	}
}

// TestStartSnmpd checks the generated config with net-snmp's own client:
// the community and every v3 user answer.
func TestStartSnmpd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	Need(t, "snmpd", "snmpbulkwalk")
	a := StartSnmpd(t)
	rows := BulkWalk(t, []string{"-v2c", "-c", a.Community}, a.Addr(), ".1.3.6.1.2.1.1")
	if len(rows) < 5 || rows[0].OID != ".1.3.6.1.2.1.1.1.0" {
		t.Fatalf("v2c walk of system: %v", rows)
	}
	for _, u := range SnmpdUsers {
		if rows := BulkWalk(t, u.Args(), a.Addr(), ".1.3.6.1.2.1.1.5"); len(rows) != 1 {
			t.Errorf("user %s: %v", u.Name, rows)
		}
	}
}

// TestStartSnmpsim serves two recordings from a directory (one gzipped)
// and checks the community selects the recording.
func TestStartSnmpsim(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpsimd")
	}
	Need(t, "snmpsimd", "snmpbulkwalk")
	dir := t.TempDir()
	write := func(name, descr string) {
		rec := "1.3.6.1.2.1.1.1.0|4|" + descr + "\n1.3.6.1.2.1.1.5.0|4|" + name + "\n"
		if err := os.WriteFile(filepath.Join(dir, name+".snmprec"), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alpha", "first device")
	write("beta", "second device")
	a := StartSnmpsim(t, dir)
	for _, name := range []string{"alpha", "beta"} {
		rows := BulkWalk(t, []string{"-v2c", "-c", name}, a.Addr(), ".1.3.6.1.2.1.1.5")
		want := []WalkRow{{".1.3.6.1.2.1.1.5.0", "Hex-STRING", hexBytes([]byte(name))}}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("community %s: got %v, want %v", name, rows, want)
		}
	}
	v3 := append(SnmpsimUser.Args(), "-n", "beta")
	if rows := BulkWalk(t, v3, a.Addr(), ".1.3.6.1.2.1.1.5"); len(rows) != 1 || rows[0].Value != hexBytes([]byte("beta")) {
		t.Errorf("v3 context beta: %v", rows)
	}
}

// TestSnmpdPasswd: a user the admin creates answers with its passphrases,
// and after Passwd with the new ones.
func TestSnmpdPasswd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts snmpd")
	}
	Need(t, "snmpd", "snmpbulkwalk", "snmpusm")
	admin := V3User{Name: "admin", Level: "authPriv", AuthProto: "SHA", AuthPass: "admin-auth", PrivProto: "AES", PrivPass: "admin-priv"}
	a := StartSnmpdWith(t, SnmpdOptions{Admin: admin, Managed: []string{"poller"}})
	u := a.CreateUser(t, admin, V3User{Name: "poller", AuthPass: "poller-auth-1", PrivPass: "poller-priv-1"})
	if u.Level != "authPriv" || u.AuthProto != "SHA" || u.PrivProto != "AES" || u.AuthPass != "poller-auth-1" {
		t.Fatalf("created %+v", u)
	}
	if rows := BulkWalk(t, u.Args(), a.Addr(), ".1.3.6.1.2.1.1.5"); len(rows) != 1 {
		t.Fatalf("created user: %v", rows)
	}
	u = a.Passwd(t, admin, u, "poller-auth-2", "poller-priv-2")
	if rows := BulkWalk(t, u.Args(), a.Addr(), ".1.3.6.1.2.1.1.5"); len(rows) != 1 || a.V3["poller"] != u {
		t.Fatalf("after passwd: %v", rows)
	}
}
