package dashgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the dashboards under deploy/grafana from the definitions")

// TestCommittedJSON: the JSON users import is what the definitions render.
func TestCommittedJSON(t *testing.T) {
	for _, f := range All() {
		got, err := f.Dashboard.Render()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", filepath.FromSlash(f.Path))
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (generate it: go test ./deploy/grafana/dashgen -run TestCommitted -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its definition: regenerate with go test ./deploy/grafana/dashgen -run TestCommitted -update", f.Path)
		}
	}
}

// builtins are Grafana's own variables and the InfluxDB alias patterns.
var builtins = regexp.MustCompile(`^(__interval|__interval_ms|__rate_interval|__range|__range_s|timeFilter|tag_[a-z_]+)$`)

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// TestDashboardShape checks what Grafana needs of each file: unique ids and
// uids, panels inside the 24-column grid and not overlapping, every query
// on the datasource variable, every variable it uses defined.
func TestDashboardShape(t *testing.T) {
	uids := map[string]string{}
	for _, f := range All() {
		b, err := f.Dashboard.Render()
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID           string `json:"uid"`
			SchemaVersion int    `json:"schemaVersion"`
			Templating    struct {
				List []struct {
					Name, Type, Query string
					Datasource        *struct{ Type, UID string }
				} `json:"list"`
			} `json:"templating"`
			Panels []panelJSON `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if prev, dup := uids[d.UID]; dup || d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: uid %q empty, over 40 characters or also in %s", f.Path, d.UID, prev)
		}
		uids[d.UID] = f.Path
		if d.SchemaVersion != SchemaVersion {
			t.Errorf("%s: schemaVersion %d", f.Path, d.SchemaVersion)
		}
		vars := map[string]bool{}
		for i, v := range d.Templating.List {
			vars[v.Name] = true
			if i == 0 && (v.Type != "datasource" || v.Name != DatasourceVar) {
				t.Errorf("%s: the first variable is %s %q, want the datasource variable", f.Path, v.Type, v.Name)
			}
			if v.Type == "query" {
				if v.Datasource == nil || v.Datasource.UID != "${"+DatasourceVar+"}" {
					t.Errorf("%s: variable %s: datasource %+v, want ${%s}", f.Path, v.Name, v.Datasource, DatasourceVar)
				}
				checkRefs(t, f.Path+": variable "+v.Name, v.Query, vars)
			}
		}
		ids := map[int]bool{}
		checkPanels(t, f.Path, d.Panels, ids, vars)
		if len(ids) < 5 {
			t.Errorf("%s: %d panels", f.Path, len(ids))
		}
	}
}

type panelJSON struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	GridPos    struct{ H, W, X, Y int }
	Datasource *struct{ Type, UID string }
	Targets    []map[string]any `json:"targets"`
	Panels     []panelJSON      `json:"panels"`
}

func checkPanels(t *testing.T, file string, panels []panelJSON, ids map[int]bool, vars map[string]bool) {
	t.Helper()
	taken := map[[2]int]string{} // grid cell → panel title
	for _, p := range panels {
		where := file + ": panel " + p.Title
		if ids[p.ID] || p.ID <= 0 {
			t.Errorf("%s: id %d repeated or not positive", where, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.X < 0 || g.W <= 0 || g.X+g.W > 24 || g.H <= 0 || g.Y < 0 {
			t.Errorf("%s: gridPos %+v outside the grid", where, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Errorf("%s: overlaps %s at %d,%d", where, other, x, y)
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			checkPanels(t, file, p.Panels, ids, vars)
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${"+DatasourceVar+"}" {
			t.Errorf("%s: datasource %+v, want ${%s}", where, p.Datasource, DatasourceVar)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", where)
		}
		for _, tg := range p.Targets {
			ds, _ := tg["datasource"].(map[string]any)
			if ds == nil || ds["uid"] != "${"+DatasourceVar+"}" {
				t.Errorf("%s: target %v: datasource %v", where, tg["refId"], ds)
			}
			for _, k := range []string{"expr", "query"} {
				if s, ok := tg[k].(string); ok {
					checkRefs(t, where, s, vars)
				}
			}
		}
	}
}

func checkRefs(t *testing.T, where, query string, vars map[string]bool) {
	t.Helper()
	for _, m := range varRef.FindAllStringSubmatch(query, -1) {
		if !vars[m[1]] && !builtins.MatchString(m[1]) {
			t.Errorf("%s: uses $%s, which is not defined before it", where, m[1])
		}
	}
	if strings.Contains(query, "$__rate_interval") && strings.Contains(query, "timeFilter") {
		t.Errorf("%s: mixes Prometheus and InfluxDB macros", where)
	}
}
