package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
)

var fuzzNow = time.Unix(1700000000, 0)

var fuzzDefaults = Defaults{Site: "dc1", Class: "network", Subclass: "switch", Type: "generic"}

// addFiles seeds f with the files matching each pattern.
func addFiles(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// checkResult asserts what every source result promises: resources that
// can be polled (valid identity, no whitespace in the endpoint, known
// metadata valid), one per identity, no metadata that looks like a secret
// (it would travel in every bus message), every row counted, and each
// rejected row naming the input and a line of it.
func checkResult(t *testing.T, res *Result, err error, file string, data []byte) {
	t.Helper()
	if (res == nil) == (err == nil) {
		t.Fatalf("result %v with error %v", res != nil, err)
	}
	if err != nil {
		if !strings.HasPrefix(err.Error(), file) {
			t.Fatalf("error %q does not name the input %s", err, file)
		}
		return
	}
	seen := map[string]bool{}
	for _, r := range res.Set.Resources {
		if err := checkResource(r); err != nil {
			t.Fatalf("accepted resource %+v: %v", r, err)
		}
		if seen[r.Key()] {
			t.Fatalf("two resources with identity %s", r.Key())
		}
		seen[r.Key()] = true
		for k := range r.Metadata {
			if IsSecretName(k) {
				t.Fatalf("resource %s keeps metadata %q, which looks like a secret", r.Key(), k)
			}
		}
	}
	if res.Rows != len(res.Set.Resources)+len(res.Rejected) {
		t.Fatalf("%d rows: %d resources + %d rejected", res.Rows, len(res.Set.Resources), len(res.Rejected))
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for _, re := range res.Rejected {
		if re.File != file || re.Line < 1 || re.Line > lines || re.Reason == "" {
			t.Fatalf("rejected row %+v: want %s, a line in 1..%d and a reason", re, file, lines)
		}
	}
}

// checkJSONRoundTrip: the resources a source returns, written as a Panoptes
// resource set, read back as the same resources.
func checkJSONRoundTrip(t *testing.T, res *Result) {
	t.Helper()
	if res == nil {
		return
	}
	set := *res.Set
	if set.Resources == nil {
		set.Resources = []*resource.Resource{} // nil would be written as null, which ParseJSON refuses
	}
	data, err := json.Marshal(&set)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseJSON(context.Background(), data, "again.json", "fuzz", fuzzDefaults, fuzzNow)
	if err != nil || len(again.Rejected) != 0 {
		t.Fatalf("the result written as JSON does not read back: %v %v\n%s", err, again, data)
	}
	want := res.Set.Resources
	if len(want) == 0 {
		want = nil
	}
	got := again.Set.Resources
	if len(got) == 0 {
		got = nil
	}
	for _, rs := range [][]*resource.Resource{want, got} {
		for _, r := range rs {
			if len(r.Metadata) == 0 {
				r.Metadata = nil
			}
		}
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("written as JSON and read back, the resources differ:\n%s", data)
	}
}

// FuzzParseCSV reads any bytes as a CSV inventory.
func FuzzParseCSV(f *testing.F) {
	addFiles(f, "testdata/*.csv", "csv/testdata/*.csv", "../../examples/*.csv")
	f.Add([]byte("id,endpoint,snmp_community,api key,snmp_port\nsw1,10.0.0.1,public,k,161\nsw1,10.0.0.2,x,y,0\n"))
	f.Add([]byte("\xef\xbb\xbfresource_id,resource_endpoint,site\n\"a\nb\",\" 10.0.0.1 \",dc2\n# comment\n,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseCSV(context.Background(), bytes.NewReader(data), "fuzz.csv", "fuzz", fuzzDefaults, fuzzNow)
		checkResult(t, res, err, "fuzz.csv", data)
		checkJSONRoundTrip(t, res)
	})
}

// FuzzParseJSON reads any bytes as a JSON inventory (a resource set or a
// bare array of resources).
func FuzzParseJSON(f *testing.F) {
	addFiles(f, "testdata/*.json", "json/testdata/*.json")
	f.Add([]byte(`[{"resource_id":"a","resource_endpoint":"e","resource_metadata":{"password":"x","snmp_port":"99999"}},{"resource_id":"a","resource_endpoint":"e"}]`))
	f.Add([]byte(`{"resources":[],"resources":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseJSON(context.Background(), data, "fuzz.json", "fuzz", fuzzDefaults, fuzzNow)
		checkResult(t, res, err, "fuzz.json", data)
		checkJSONRoundTrip(t, res)
	})
}

// FuzzParseOutput reads any bytes as a command's output or an HTTP body:
// undeclared, the format is sniffed, and the result is the declared
// format's; declared, it is that parser's.
func FuzzParseOutput(f *testing.F) {
	addFiles(f, "testdata/*.csv", "testdata/*.json")
	f.Add([]byte("  \n\t"))
	f.Add([]byte("\xef\xbb\xbf [ ]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		res, err := ParseOutput(ctx, data, "", "command fuzz", "fuzz", fuzzDefaults, fuzzNow)
		checkResult(t, res, err, "command fuzz", data)
		if len(bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))) == 0 {
			if err == nil || !strings.Contains(err.Error(), "the output is empty") {
				t.Fatalf("empty output: %v", err)
			}
			return
		}
		format := sniffFormat(bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM)))
		declared, derr := ParseOutput(ctx, data, format, "command fuzz", "fuzz", fuzzDefaults, fuzzNow)
		if (err == nil) != (derr == nil) || err != nil && err.Error() != derr.Error() || !reflect.DeepEqual(res, declared) {
			t.Fatalf("sniffed %s: %v; declared: %v", format, err, derr)
		}
	})
}
