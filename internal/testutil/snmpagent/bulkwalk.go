package snmpagent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// WalkRow is one varbind in a machine-comparable text form, as printed by
// net-snmp with numeric output options (see BulkWalk) and as RowOf renders a
// gosnmp varbind:
//   - OID: numeric with a leading dot (".1.3.6.1.2.1.2.2.1.1.1");
//   - Type: net-snmp's type name: INTEGER, Hex-STRING (every octet string,
//     also printable and empty ones), OID, IpAddress, Counter32, Gauge32,
//     Timeticks, Counter64, Opaque, NULL;
//   - Value: decimal integers (Timeticks in hundredths of a second), octet
//     strings as upper-case hex bytes separated by single spaces ("" when
//     empty), OIDs numeric with a leading dot, IP addresses dotted.
type WalkRow struct {
	OID, Type, Value string
}

// BulkWalk runs net-snmp's snmpbulkwalk against addr with the given
// authentication args (e.g. {"-v2c", "-c", "public"} or V3User.Args()) and
// returns the rows under root in agent order. It uses no MIBs and prints
// numeric OIDs (-On), numeric enums (-Oe), octet strings in hex (-Ox) and no
// units (-OU); Timeticks are reduced to their number of hundredths.
func BulkWalk(t testing.TB, args []string, addr string, root string) []WalkRow {
	t.Helper()
	Need(t, "snmpbulkwalk")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append(append([]string{"-On", "-Oe", "-Ox", "-OU", "-t", "2", "-r", "2"}, args...), addr, root)
	cmd := exec.CommandContext(ctx, "snmpbulkwalk", full...)
	cmd.Env = append(os.Environ(), "MIBS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("snmpbulkwalk %s %s: %v\n%s", addr, root, err, stderr.String())
	}
	rows, err := ParseNetSNMP(stdout.String())
	if err != nil {
		t.Fatalf("snmpbulkwalk %s %s: %v", addr, root, err)
	}
	return rows
}

// ParseNetSNMP parses snmpwalk/snmpget output printed with -On -Ox -OU
// (hex strings may wrap over several lines) into rows.
func ParseNetSNMP(out string) ([]WalkRow, error) {
	var rows []WalkRow
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \r")
		oid, rest, ok := strings.Cut(line, " = ")
		if !ok || !strings.HasPrefix(oid, ".") {
			if len(rows) > 0 && rows[len(rows)-1].Type == "Hex-STRING" && line != "" {
				r := &rows[len(rows)-1]
				r.Value = strings.TrimSpace(r.Value + " " + strings.TrimSpace(line))
				continue
			}
			if line == "" || strings.HasPrefix(line, "End of MIB") {
				continue
			}
			return nil, fmt.Errorf("line %d: unexpected %q", n, line)
		}
		if strings.HasPrefix(rest, "No more variables left in this MIB View") {
			continue // endOfMibView: net-snmp prints one per repetition at the end of the MIB
		}
		typ, val, ok := strings.Cut(rest, ": ")
		if !ok {
			typ, val = strings.TrimSuffix(rest, ":"), ""
		}
		switch {
		case rest == `""`: // empty octet string
			typ, val = "Hex-STRING", ""
		case typ == "STRING": // -Ox prints printable strings in hex, but be safe
			typ, val = "Hex-STRING", hexBytes([]byte(strings.Trim(val, `"`)))
		case typ == "Timeticks": // "(12345) 0:02:03.45"
			if i := strings.Index(val, ")"); strings.HasPrefix(val, "(") && i > 0 {
				val = val[1:i]
			}
		}
		rows = append(rows, WalkRow{OID: oid, Type: typ, Value: strings.TrimSpace(val)})
	}
	return rows, sc.Err()
}

// RowOf renders a gosnmp varbind as BulkWalk renders net-snmp's output.
func RowOf(v gosnmp.SnmpPDU) WalkRow {
	r := WalkRow{OID: v.Name}
	if !strings.HasPrefix(r.OID, ".") {
		r.OID = "." + r.OID
	}
	switch v.Type {
	case gosnmp.Integer:
		r.Type, r.Value = "INTEGER", fmt.Sprint(v.Value)
	case gosnmp.OctetString:
		b, _ := v.Value.([]byte)
		r.Type, r.Value = "Hex-STRING", hexBytes(b)
	case gosnmp.ObjectIdentifier:
		r.Type, r.Value = "OID", fmt.Sprint(v.Value)
	case gosnmp.IPAddress:
		r.Type, r.Value = "IpAddress", fmt.Sprint(v.Value)
	case gosnmp.Counter32:
		r.Type, r.Value = "Counter32", fmt.Sprint(v.Value)
	case gosnmp.Gauge32, gosnmp.Uinteger32:
		r.Type, r.Value = "Gauge32", fmt.Sprint(v.Value)
	case gosnmp.TimeTicks:
		r.Type, r.Value = "Timeticks", fmt.Sprint(v.Value)
	case gosnmp.Counter64:
		r.Type, r.Value = "Counter64", gosnmp.ToBigInt(v.Value).String()
	case gosnmp.Null:
		r.Type = "NULL"
	case gosnmp.Opaque:
		b, _ := v.Value.([]byte)
		r.Type, r.Value = "Opaque", hexBytes(b)
	default:
		r.Type, r.Value = v.Type.String(), fmt.Sprint(v.Value)
	}
	return r
}

func hexBytes(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
	}
	return s.String()
}
