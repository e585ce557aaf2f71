package profile

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/profiles"
)

// shippedDir is the repository's profiles directory.
const shippedDir = "../../profiles"

func TestShippedProfilesLoad(t *testing.T) {
	set, err := LoadDir(shippedDir)
	if err != nil {
		t.Fatalf("shipped profiles: %v", err)
	}
	want := []string{"arista-eos", "cisco-ios", "cisco-nxos", "entity-sensor", "f5-bigip", "host-resources", "juniper", "linux"}
	if got := strings.Join(set.Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("profiles %s, want %s", got, strings.Join(want, ","))
	}
	for _, name := range want {
		p, _ := set.Profile(name)
		types := map[string]bool{}
		for _, g := range p.Groups {
			types[g.Type] = true
		}
		if name == "f5-bigip" { // load balancing objects, not health
			if !types["lb_virtual_server"] || !types["lb_pool_member"] {
				t.Errorf("%s: groups %v", name, types)
			}
			continue
		}
		if name != "linux" && name != "host-resources" && !types["environment"] {
			t.Errorf("%s: no environment group", name)
		}
		if name != "entity-sensor" && (!types["cpu"] || !types["memory"]) {
			t.Errorf("%s: cpu %v memory %v", name, types["cpu"], types["memory"])
		}
	}
}

func TestBadProfiles(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // each must appear in the error text
	}{
		{"unknown top-level field", "name: x\nmatchh: {}\ngroups: []\n",
			[]string{"bad.yaml:2: matchh: unknown field (known: description, enums, groups, match, name)"}},
		{"unknown group field", `name: x
groups:
  - type: cpu
    walk: {a: .1.3.6.1.2}
    metric: {x: a}
`, []string{"bad.yaml:5: groups[0].metric: unknown field", "bad.yaml:3: groups[0].metrics: missing"}},
		{"bad expression", `name: x
groups:
  - type: cpu
    walk: {hrProcessorLoad: .1.3.6.1.2.1.25.3.3.1.2}
    metrics:
      cpu_utilization: hrProcessorLaod * 2
`, []string{`bad.yaml:6: groups[0].metrics.cpu_utilization: expression "hrProcessorLaod * 2": unknown name hrProcessorLaod`}},
		{"syntax error", `name: x
groups:
  - type: cpu
    walk: {a: .1.3.6.1.2}
    dimensions:
      d: 'a +'
    metrics: {m: a}
`, []string{"bad.yaml:6: groups[0].dimensions.d: expression"}},
		{"missing table", `name: x
groups:
  - type: memory
    metrics: {m: "1"}
`, []string{"bad.yaml:3: groups[0].walk: missing: a group needs a table to walk, OIDs to get or lookups"}},
		{"bad OID and type", `name: x
match: {sys_object_id: [1.3.6.x]}
groups:
  - type: cpu
    walk: {a: .1.3.6.1.2}
    get: {b: iso.3.6}
    metrics: {m: {value: a, type: rate}}
`, []string{"bad.yaml:2: match.sys_object_id[0]", "bad.yaml:6: groups[0].get.b: \"iso.3.6\" is not a numeric OID",
			`bad.yaml:7: groups[0].metrics.m.type: "rate": want gauge or counter`}},
		{"filter must be boolean", `name: x
groups:
  - type: cpu
    walk: {a: .1.3.6.1.2}
    filter: '"a" + "b"'
    metrics: {m: a}
`, []string{"bad.yaml:5: groups[0].filter: expression"}},
		{"reserved and duplicate names", `name: x
groups:
  - type: cpu
    walk: {index: .1.3.6.1.2, a: .1.3.6.1.3}
    get: {a: .1.3.6.1.4.0}
    metrics: {m: a}
`, []string{"bad.yaml:4: groups[0].walk.index: not a usable name", "bad.yaml:5: groups[0].get.a: name already defined in walk"}},
		{"no name", "groups:\n  - type: cpu\n    get: {a: .1.3.0}\n    metrics: {m: a}\n", []string{"bad.yaml:1: name: missing"}},
		{"per row without table", `name: x
groups:
  - type: cpu
    per: row
    get: {a: .1.3.0}
    metrics: {m: a}
`, []string{"bad.yaml:4: groups[0].per: per: row needs a table"}},
		{"not yaml", "name: [x\n", []string{"bad.yaml: not valid YAML"}},
		// Table groups see each row as rows[i]: a column they name must be
		// one the group walks, else every row would read nil silently.
		{"unknown column in rows", `name: x
groups:
  - type: environment
    per: table
    walk: {entPhySensorType: .1.3.6.1.2.1.99.1.1.1.1}
    metrics:
      fans_total: count(rows, .entPhySensorTyp == 10)
      fans_ok: 'count(rows, #.entPhySensorType == 10 && #.entPhySensorOperStatus == 1)'
`, []string{`bad.yaml:7: groups[0].metrics.fans_total: expression "count(rows, .entPhySensorTyp == 10)": unknown field entPhySensorTyp`,
			`bad.yaml:8: groups[0].metrics.fans_ok: expression`, "unknown field entPhySensorOperStatus"}},
		{"unknown column in a table filter", `name: x
groups:
  - type: memory
    per: table
    walk: {hrStorageType: .1.3.6.1.2.1.25.2.3.1.2, hrStorageSize: .1.3.6.1.2.1.25.2.3.1.5}
    filter: hrStorageTyp == "x"
    metrics:
      memory_total: sum(rows, .hrStorageSize)
`, []string{`bad.yaml:6: groups[0].filter: expression "hrStorageTyp == \"x\"": unknown name hrStorageTyp`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("loaded without error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *profile.Error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

// The embedded profiles are exactly the files shipped in profiles/.
func TestEmbeddedProfilesMatchDirectory(t *testing.T) {
	embedded, err := LoadFS(profiles.FS, DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := LoadDir("../../profiles")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := embedded.Names(), onDisk.Names(); !slices.Equal(got, want) || len(got) < 6 {
		t.Errorf("embedded profiles %v, directory %v", got, want)
	}
	p, err := FromOptions(plugin.BlockOf(nil))
	if err != nil || p == nil {
		t.Fatalf("the plugin without options must load the embedded profiles: %v", err)
	}
}
