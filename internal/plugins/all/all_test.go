package all

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
)

func noEnv(string) (string, bool) { return "", false }

// The bad-config fixtures of the plugins' keys, loaded as `panoptes
// validate` loads them: each names file, line and key. They were checked by
// the core config before the plugins owned their keys; the file, line and
// key are the same, and so is every reason but two: an unknown plugin is
// named by its family's registry, and a key of another plugin is an unknown
// key (a plugin lists none of the others).
func TestPluginFixtures(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"sink without path", "sinks:\n  - type: file\n", "bad.yaml:2: sinks[0].path: is empty; give the JSON lines file to write"},
		{"small file sink", "sinks:\n  - type: file\n    path: x\n    max_size: 100\n", "bad.yaml:4: sinks[0].max_size: 100 bytes is too small; give at least 1KiB"},
		{"bad source plugin", "discovery:\n  sources:\n    - plugin: ldap\n      path: x\n", `bad.yaml:3: discovery.sources[0].plugin: unknown discovery source "ldap" (registered: command, csv, http, json)`},
		{"command without command", "discovery:\n  sources:\n    - plugin: command\n      format: csv\n", "bad.yaml:3: discovery.sources[0].command: is empty; give the program that prints the devices as CSV or JSON"},
		{"http bad url", "discovery:\n  sources:\n    - plugin: http\n      url: ftp://cmdb\n", "bad.yaml:4: discovery.sources[0].url: is not an http:// or https:// URL with a host (e.g. https://cmdb.example.com/api/devices)"},
		{"bad source format", "discovery:\n  sources:\n    - plugin: http\n      url: http://cmdb/devices\n      format: xml\n", `bad.yaml:5: discovery.sources[0].format: "xml" is not one of: csv, json`},
		{"command key on csv", "discovery:\n  sources:\n    - plugin: csv\n      path: x.csv\n      command: /bin/true\n", `bad.yaml:5: discovery.sources[0].command: unknown key "command"`},
		{"negative source timeout", "discovery:\n  sources:\n    - plugin: command\n      command: /bin/true\n      timeout: -1s\n", "bad.yaml:5: discovery.sources[0].timeout: -1s must not be negative"},
		{"unknown sink type", "sinks:\n  - type: influx\n", `bad.yaml:2: sinks[0].type: unknown sink type "influx" (registered: alertmanager, file, influxdb, kafka, prometheus, prometheus_remote_write, webhook)`},
		{"influxdb typo", "sinks:\n  - type: influxdb\n    influxdb:\n      url: http://localhost:8086\n      databse: panoptes\n", `bad.yaml:5: sinks[0].influxdb.databse: unknown key "databse"`},
		{"influxdb field", "sinks:\n  - type: influxdb\n    influxdb:\n      url: http://localhost:8086\n", "bad.yaml:3: sinks[0].influxdb.database: is empty"},
		{"unknown sink source", "sinks:\n  - type: file\n    path: x\n    source:\n      kafak: {brokers: [a:1]}\n", `bad.yaml:5: sinks[0].source.kafak: unknown sink source "kafak" (registered: kafka)`},
		{"kafka source field", "sinks:\n  - type: file\n    path: x\n    source:\n      kafka:\n        brokers: [a:1]\n", "bad.yaml:5: sinks[0].source.kafka.topics: is empty"},
		{"polling option", "snmp:\n  credentials: {a: {version: 2c, community: c}}\n  credential: a\npolling:\n  plugins:\n    - name: ping\n      options:\n        count: 0\n", "bad.yaml:8: polling.plugins[0].options.count: 0 is out of range 1..100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("bad.yaml", []byte(c.yaml), noEnv, node.Check)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

// Every example config, and every config snippet of README.md, loads with
// its plugins built (secrets from the environment set to a placeholder).
func TestExamplesAndReadmeLoad(t *testing.T) {
	for _, f := range []string{"examples/panoptes.yaml", "packaging/debian/panoptes.yaml", "deploy/container/panoptes.yaml"} {
		if _, err := config.Load("../../../"+f, node.Check); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	const readme = "../../../README.md"
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := func(string) (string, bool) { return "placeholder", true }
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatchIndex(string(raw), -1)
	if len(blocks) < 6 {
		t.Fatalf("README.md has %d yaml snippets, want the plugins' and sinks' ones", len(blocks))
	}
	for _, b := range blocks {
		line := strings.Count(string(raw[:b[0]]), "\n") + 2
		snippet := string(raw[b[2]:b[3]])
		// A snippet of polling plugins is a config with credentials; a
		// profile directory of the reader's machine is the shipped one.
		snippet = strings.ReplaceAll(snippet, "/etc/panoptes/profiles", "profiles") // next to README.md
		if strings.Contains(snippet, "polling:") && !strings.Contains(snippet, "snmp:") {
			snippet += "snmp: {credential: a, credentials: {a: {version: 2c, community: c}}}\n"
		}
		if _, err := config.Parse(readme, []byte(strings.Repeat("\n", line-1)+snippet), placeholder, node.Check); err != nil {
			t.Errorf("the snippet at %s:%d does not load:\n%v", readme, line, err)
		}
	}
}
