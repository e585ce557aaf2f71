package discovery

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
)

func TestJSONPanoptesResourceSet(t *testing.T) {
	res := discover(t, newSource(t, "cmdb", "json", "testdata/panoptes_resources.json", Defaults{}))
	if res.Rows != 3 || len(res.Rejected) != 0 || len(res.Warnings) != 0 {
		t.Fatalf("rows %d rejected %v warnings %v", res.Rows, res.Rejected, res.Warnings)
	}
	want := &resource.Resource{Site: "site1", Class: "network", Subclass: "switch", Type: "cisco",
		ID: "switch1.example.com", Endpoint: "switch1.example.com",
		Metadata:          map[string]string{"_resource_ttl": "604800", "model": "WS-C3750G-24TS"},
		CreationTimestamp: 1535496674.53, // kept from the file
		Plugin:            "cmdb",        // the source owns what it produced
	}
	got := byID(res.Set)
	if !reflect.DeepEqual(got["switch1.example.com"], want) {
		t.Errorf("switch1 = %+v\nwant %+v", got["switch1.example.com"], want)
	}
	if lb := got["lb1.example.com"]; lb == nil || lb.Subclass != "load-balancer" || lb.Metadata == nil {
		t.Errorf("lb1 = %+v", lb)
	}

	// The set round-trips through Panoptes' JSON field names.
	b, err := json.Marshal(res.Set.Sorted()[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"resource_plugin":"cmdb"`) || !strings.Contains(string(b), `"resource_endpoint":"lb1.example.com"`) {
		t.Errorf("marshalled %s", b)
	}
}

func TestJSONBadResourcesReportedWithIndexAndLine(t *testing.T) {
	const file = "testdata/bad_resources.json"
	res := discover(t, newSource(t, "cmdb", "json", file, Defaults{}))
	want := []struct {
		line   int
		reason string
	}{
		{4, "resources[1]: resource_endpoint is empty"},
		{5, "resources[2]: not a valid resource: cannot unmarshal number into Go struct field Resource.resource_metadata of type string"},
		{6, "resources[3]: resource is null"},
		{7, "resources[4]: duplicate resource s1|network|switch|cisco|ok1: same identity as resources[0] (line 2)"},
		{8, `resources[5]: snmp_port "0" is not a port number (1..65535)`},
	}
	if len(res.Rejected) != len(want) {
		t.Fatalf("rejected %d, want %d: %v", len(res.Rejected), len(want), res.Rejected)
	}
	for i, w := range want {
		if got := res.Rejected[i]; got.File != file || got.Line != w.line || !strings.HasPrefix(got.Reason, w.reason) {
			t.Errorf("reject %d = %q, want line %d: %s", i, got.Error(), w.line, w.reason)
		}
	}
	if res.Rows != 7 {
		t.Errorf("rows = %d, want 7", res.Rows)
	}
	got := byID(res.Set)
	if ok1 := got["ok1"]; ok1 == nil || !reflect.DeepEqual(ok1.Metadata, map[string]string{"model": "x"}) {
		t.Errorf("ok1 = %+v, want the community dropped", ok1)
	}
	ok3 := got["ok3"]
	if ok3 == nil || ok3.Class != "network" || ok3.Type != "generic" ||
		!reflect.DeepEqual(ok3.Metadata, map[string]string{"snmp_credential": "v3-lab"}) {
		t.Errorf("ok3 = %+v, want defaults and only snmp_credential", ok3)
	}
	warn := strings.Join(res.Warnings, "\n")
	if len(res.Warnings) != 2 || !strings.Contains(warn, `"auth_key"`) || !strings.Contains(warn, `"snmp_community"`) {
		t.Errorf("warnings = %q, want one each for auth_key and snmp_community", res.Warnings)
	}
	for _, secret := range []string{"public", "hunter2"} {
		if strings.Contains(warn, secret) {
			t.Errorf("warnings leak %q", secret)
		}
	}
}

func TestJSONBareArrayAndShapes(t *testing.T) {
	for _, tc := range []struct{ name, text, wantErr string }{
		{"bare array", `[{"resource_id":"a","resource_endpoint":"10.0.0.1"}]`, ""},
		{"empty set", `{"resources":[]}`, ""},
		{"empty file", ``, "the file is empty"},
		{"no resources", `{"resource_set_schema_version":"0.1"}`, `no "resources" array`},
		{"resources null", `{"resources":null}`, `"resources" must be an array`},
		{"resources twice", `{"resources":[],"resources":[]}`, `"resources" appears twice`},
		{"scalar", `"hello"`, "expected a resource set"},
		{"trailing data", "[]\n[]", "x.json:2: unexpected data after the resource set"},
		{"syntax", "{\"resources\":[\n{\"resource_id\": nope}]}", "x.json:2: invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "x.json", tc.text)
			res, err := newSource(t, "j", "json", path, Defaults{Site: "s"}).Discover(context.Background())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != len(res.Set.Resources) {
					t.Fatalf("rows %d resources %d rejected %v", res.Rows, len(res.Set.Resources), res.Rejected)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestJSONTruncatedFileFailsSource(t *testing.T) {
	_, err := newSource(t, "j", "json", "testdata/truncated.json", Defaults{}).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "testdata/truncated.json") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v, want the file named and truncation suspected", err)
	}
}
