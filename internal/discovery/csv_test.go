package discovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
)

func TestCSVHappyPathWithMetadata(t *testing.T) {
	src := newSource(t, "lab-csv", "csv", "testdata/devices.csv", Defaults{Site: "default-site"})
	res := discover(t, src)

	want := map[string]*resource.Resource{
		"sw1.dc1": {Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1.dc1", Endpoint: "10.0.0.1",
			Metadata:          map[string]string{"model": "WS-C3750G-24TS", "snmp_credential": "lab", "snmp_port": "161", "location": "rack 1"},
			CreationTimestamp: testTS, Plugin: "lab-csv"},
		// class, subclass and type fall back; empty cells are omitted.
		"sw2.dc1": {Site: "dc1", Class: "network", Subclass: "switch", Type: "generic", ID: "sw2.dc1", Endpoint: "10.0.0.2",
			Metadata: map[string]string{"snmp_credential": "lab", "location": "rack 2"}, CreationTimestamp: testTS, Plugin: "lab-csv"},
		// the site comes from the configured defaults.
		"rt1.dc1": {Site: "default-site", Class: "network", Subclass: "router", Type: "juniper", ID: "rt1.dc1",
			Endpoint: "rt1.dc1.example.com", Metadata: map[string]string{"model": "MX480", "snmp_port": "1161"},
			CreationTimestamp: testTS, Plugin: "lab-csv"},
	}
	if got := byID(res.Set); !reflect.DeepEqual(got, want) {
		for id, r := range got {
			t.Errorf("got %s: %+v\nwant %+v", id, r, want[id])
		}
	}
	if res.Rows != 3 || len(res.Rejected) != 0 {
		t.Errorf("rows %d, rejected %v; want 3 rows, none rejected", res.Rows, res.Rejected)
	}
	if res.Set.SchemaVersion != resource.SetSchemaVersion || res.Set.CreationTimestamp != testTS {
		t.Errorf("set header = %q %v", res.Set.SchemaVersion, res.Set.CreationTimestamp)
	}
	// The secret column is dropped with one warning naming it, not per row.
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"snmp_community"`) {
		t.Fatalf("warnings = %q, want one naming snmp_community", res.Warnings)
	}
	for _, secret := range []string{"public", "s3cr3t-community"} {
		if strings.Contains(res.Warnings[0], secret) {
			t.Errorf("warning leaks the secret value %q: %s", secret, res.Warnings[0])
		}
	}
}

func TestCSVDefaultsFromConfigAndFallbacks(t *testing.T) {
	src := newSource(t, "csv", "csv", "testdata/devices.csv",
		Defaults{Site: "x", Class: "server", Subclass: "linux"}) // Type left empty
	sw2 := byID(discover(t, src).Set)["sw2.dc1"]
	if sw2.Class != "server" || sw2.Subclass != "linux" || sw2.Type != FallbackType {
		t.Errorf("sw2 = %s/%s/%s, want server/linux/%s", sw2.Class, sw2.Subclass, sw2.Type, FallbackType)
	}
}

func TestCSVPrefixedHeaders(t *testing.T) {
	src := newSource(t, "csv", "csv", "testdata/prefixed.csv", Defaults{})
	res := discover(t, src)
	got := byID(res.Set)
	want := &resource.Resource{Site: "dc2", Class: "network", Subclass: "switch", Type: "arista", ID: "sw1",
		Endpoint: "10.1.0.1", Metadata: map[string]string{"vendor": "Arista"}, CreationTimestamp: testTS, Plugin: "csv"}
	if !reflect.DeepEqual(got["sw1"], want) {
		t.Errorf("sw1 = %+v\nwant %+v", got["sw1"], want)
	}
	if sw2 := got["sw2"]; sw2 == nil || len(sw2.Metadata) != 0 {
		t.Errorf("sw2 = %+v, want no metadata (its vendor cell is empty)", sw2)
	}
}

func TestCSVBadRowsReportedWithPhysicalLines(t *testing.T) {
	const file = "testdata/bad_rows.csv"
	res := discover(t, newSource(t, "csv", "csv", file, Defaults{}))

	want := []struct {
		line   int
		reason string
	}{
		{4, "endpoint is empty"},
		{5, "row has 4 fields, the header has 5"},
		{6, "duplicate resource dc1|network|switch|generic|sw1: same site, class, subclass, type and id as line 2"},
		{7, `endpoint: "10.0.0 .4" contains whitespace`},
		{8, "id is empty"},
		{11, `malformed CSV: bare " in non-quoted-field`},
		{12, `snmp_port "70000" is not a port number (1..65535)`},
	}
	if len(res.Rejected) != len(want) {
		t.Fatalf("rejected %d rows, want %d: %v", len(res.Rejected), len(want), res.Rejected)
	}
	for i, w := range want {
		got := res.Rejected[i]
		if got.File != file || got.Line != w.line || got.Reason != w.reason {
			t.Errorf("reject %d = %q, want %s:%d: %s", i, got.Error(), file, w.line, w.reason)
		}
	}
	if got := res.Rejected[0].Error(); got != file+":4: endpoint is empty" {
		t.Errorf("Error() = %q", got)
	}
	if got, want := ids(res.Set), []string{"sw1", "sw10", "sw11", "sw12", "sw5", "sw8", "sw9"}; !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if res.Rows != 14 {
		t.Errorf("rows = %d, want 14", res.Rows)
	}
	got := byID(res.Set)
	if d := got["sw5"].Metadata["description"]; d != "multi\nline \"quoted\" text" {
		t.Errorf("sw5 description = %q", d)
	}
	if d := got["sw1"].Metadata["description"]; d != "core switch\nsecond floor" {
		t.Errorf("sw1 description = %q", d)
	}
	if _, ok := got["sw9"].Metadata["snmp_port"]; ok {
		t.Error("an empty snmp_port cell must be omitted, not validated")
	}
}

func TestCSVMissingRequiredHeader(t *testing.T) {
	_, err := newSource(t, "csv", "csv", "testdata/missing_header.csv", Defaults{}).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "testdata/missing_header.csv:1: the header has no id column") {
		t.Fatalf("err = %v, want the file, line and missing id column", err)
	}
	path := writeFile(t, "noendpoint.csv", "id,site\nsw1,dc1\n")
	_, err = newSource(t, "csv", "csv", path, Defaults{}).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no endpoint column") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want the file and the missing endpoint column", err)
	}
}

func TestCSVEmptyAndHeaderOnly(t *testing.T) {
	_, err := newSource(t, "csv", "csv", "testdata/empty.csv", Defaults{}).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "testdata/empty.csv: the file is empty") {
		t.Fatalf("empty file: err = %v", err)
	}
	res := discover(t, newSource(t, "csv", "csv", "testdata/header_only.csv", Defaults{}))
	if res.Rows != 0 || len(res.Set.Resources) != 0 || len(res.Rejected) != 0 {
		t.Fatalf("header only: %+v", res)
	}
}

func TestCSVBOMCRLFAndBlankRows(t *testing.T) {
	path := writeFile(t, "bom.csv", "\ufeffid,endpoint\r\n\r\n,\r\n# comment\r\nsw1,10.0.0.1\r\nsw2,10.0.0.2\r\n")
	res := discover(t, newSource(t, "csv", "csv", path, Defaults{Site: "s"}))
	if got := ids(res.Set); !reflect.DeepEqual(got, []string{"sw1", "sw2"}) || res.Rows != 2 {
		t.Fatalf("ids %v rows %d rejected %v", got, res.Rows, res.Rejected)
	}
}

func TestCSVHeaderProblems(t *testing.T) {
	for _, tc := range []struct{ name, text, wantErr, wantWarn string }{
		{"duplicate", "id,resource_id,endpoint\n", "dup.csv:1: columns 1 and 2 both give id", ""},
		{"duplicate meta", "id,endpoint,Rack,rack \n", "columns 3 and 4 both give rack", ""},
		{"unnamed", "id,endpoint,\nsw1,10.0.0.1,\n", "", "column 3 has no name"},
		{"reserved", "id,endpoint,resource_plugin\nsw1,10.0.0.1,x\n", "", "column resource_plugin is set by discovery"},
		{"secret", "id,endpoint,SNMP_Community,auth_key,api-token\nsw1,10.0.0.1,a,b,c\n", "", `"snmp_community"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "dup.csv", tc.text)
			res, err := newSource(t, "csv", "csv", path, Defaults{Site: "s"}).Discover(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res.Warnings, "\n"), tc.wantWarn) {
				t.Errorf("warnings %q, want %q", res.Warnings, tc.wantWarn)
			}
			for _, r := range res.Set.Resources {
				if len(r.Metadata) != 0 {
					t.Errorf("metadata %v, want none", r.Metadata)
				}
			}
		})
	}
}

func TestCSVSiteRequiredWithoutDefault(t *testing.T) {
	path := writeFile(t, "nosite.csv", "id,endpoint,site\nsw1,10.0.0.1,\nsw2,10.0.0.2,dc1\n")
	res := discover(t, newSource(t, "csv", "csv", path, Defaults{}))
	if len(res.Rejected) != 1 || res.Rejected[0].Line != 2 || !strings.Contains(res.Rejected[0].Reason, "discovery.defaults.site") {
		t.Fatalf("rejected = %v", res.Rejected)
	}
}

func TestCSVUnreadableFileFailsSource(t *testing.T) {
	_, err := newSource(t, "csv", "csv", "testdata/nope.csv", Defaults{}).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "testdata/nope.csv") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newSource(t, "csv", "csv", "testdata/devices.csv", Defaults{}).Discover(ctx); err == nil {
		t.Fatal("Discover with a cancelled context succeeded")
	}
}

func TestCSVUnterminatedQuoteIsOneBadRow(t *testing.T) {
	path := writeFile(t, "cut.csv", "id,endpoint,notes\nsw1,10.0.0.1,ok\nsw2,10.0.0.2,\"never closed\nsw3,10.0.0.3,x\n")
	res := discover(t, newSource(t, "csv", "csv", path, Defaults{Site: "s"}))
	if len(res.Rejected) != 1 || res.Rejected[0].Line != 3 || !strings.Contains(res.Rejected[0].Reason, "malformed CSV") {
		t.Fatalf("rejected = %v", res.Rejected)
	}
	if got := ids(res.Set); !reflect.DeepEqual(got, []string{"sw1"}) {
		t.Fatalf("ids = %v", got)
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func BenchmarkCSV10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("site,id,endpoint,model,snmp_credential,location\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "dc1,sw%d.example.com,10.0.%d.%d,WS-C3750,lab,rack %d\n", i, i/256, i%256, i%40)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := ParseCSV(context.Background(), strings.NewReader(data), "bench.csv", "csv", Defaults{}.withFallbacks(), testNow)
		if err != nil || len(res.Set.Resources) != 10000 {
			b.Fatalf("err %v, %d resources, rejected %d", err, len(res.Set.Resources), len(res.Rejected))
		}
	}
}

// TestCSVInvalidUTF8Rejected: a Latin-1 export's bytes are not a resource's
// identity: JSON would turn them into U+FFFD, merging "Z\xfcrich" and
// "Z\xe9rich" and losing the match with the resource's metrics.
func TestCSVInvalidUTF8Rejected(t *testing.T) {
	in := "id,endpoint,site,location\nsw1,10.0.0.1,Z\xfcrich,a\nsw2,10.0.0.2,dc1,Gen\xe8ve\nsw3,10.0.0.3,dc1,Genève\n"
	res, err := ParseCSV(context.Background(), strings.NewReader(in), "latin1.csv", "csv", fuzzDefaults, fuzzNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Set.Resources) != 1 || res.Set.Resources[0].ID != "sw3" || len(res.Rejected) != 2 {
		t.Fatalf("kept %d resources, rejected %v; want sw3 kept, two rejected", len(res.Set.Resources), res.Rejected)
	}
	for i, want := range []string{`latin1.csv:2: resource_site "Z\xfcrich" is not valid UTF-8 (save the file as UTF-8)`,
		`latin1.csv:3: metadata "location" is not valid UTF-8 (save the file as UTF-8)`} {
		if got := res.Rejected[i].Error(); got != want {
			t.Errorf("rejected %d: %q, want %q", i, got, want)
		}
	}
}
