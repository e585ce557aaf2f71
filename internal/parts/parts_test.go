package parts

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	_ "github.com/panoptes-go/panoptes/internal/plugins/all"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("p.yaml", []byte(text), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const lab = `site: lab
data_dir: data
snmp:
  credential: c
  credentials: {c: {version: 2c, community: x}}
polling:
  plugins:
    - {name: interface, interval: 1m, rates: [in_octets]}
    - {name: uptime, interval: 30s, filter: "resource_class = 'network'"}
discovery:
  sources: [{plugin: csv, path: devices.csv}]
sinks:
  - {name: out, type: file, path: out.jsonl}
apps:
  - {plugin: events}
  - {plugin: topology, name: links}
`

// Build makes every instance of the config, with its filter and rates.
func TestBuild(t *testing.T) {
	p, err := Build(parse(t, lab), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Plugins) != 2 || p.Plugins[0].Rates.Empty() || p.Plugins[1].Filter == nil || len(p.Sources) != 1 || len(p.Apps) != 2 {
		t.Errorf("parts %+v", p)
	}
	if err := Check(parse(t, strings.Replace(lab, "credentials: {c: {version: 2c, community: x}}", "credentials: {}", 1))); err == nil ||
		!strings.Contains(err.Error(), "snmp.credentials") {
		t.Errorf("no credentials: %v, want an error naming snmp.credentials", err)
	}
}

// A node announces its sinks and the apps of its roles as bus consumers,
// and builds sinks only with the consumer role.
func TestConsumersFollowRoles(t *testing.T) {
	cfg := parse(t, lab)
	if got := ConsumerNames(cfg); !slices.Equal(got, []string{"out", "app_events", "app_links"}) {
		t.Errorf("ConsumerNames = %v", got)
	}
	if cs, err := Sinks(cfg, sink.Deps{}); err != nil || len(cs) != 1 || cs[0].Name() != "out" {
		t.Errorf("Sinks = %v, %v", cs, err)
	}
	poller := parse(t, "roles: [poller, events]\n"+lab)
	if got := ConsumerNames(poller); !slices.Equal(got, []string{"app_events"}) {
		t.Errorf("poller and events: ConsumerNames = %v", got)
	}
	if cs, err := Sinks(poller, sink.Deps{}); err != nil || len(cs) != 0 {
		t.Errorf("no consumer role: Sinks = %v, %v", cs, err)
	}
}

// SNMPOptions converts each named credential once: the targets of a name
// share one *snmp.Credential, and a reload's options hold new ones.
func TestSNMPOptionsOneCredentialPerName(t *testing.T) {
	cfg := parse(t, lab)
	o := SNMPOptions(cfg.SNMP)
	c := o.Credentials["c"]
	if c == nil || c.Version != "2c" || c.Community != "x" {
		t.Fatalf("credential c: %v", c)
	}
	if again := SNMPOptions(cfg.SNMP); again.Credentials["c"] == c || *again.Credentials["c"] != *c {
		t.Error("a reload's options share the credentials of the options before it")
	}
}
