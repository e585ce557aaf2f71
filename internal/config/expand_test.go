package config

import (
	"strings"
	"testing"
	"time"
)

// A variable's value is exactly that value, whatever YAML would make of
// it, in every field, and a number, boolean or duration from a variable
// still decodes into its field.
func TestVariablesAreExactValues(t *testing.T) {
	y := `site: ${SITE}
snmp:
  port: ${PORT}
  timeout: ${TIMEOUT}
  credential: a
  credentials:
    a: {version: 2c, community: ${COMM}}
    b:
      version: 2c
      community: ${QUOTED}
    c:
      version: 2c
      community: ${FLOW}
    d:
      version: 2c
      community: "${STAR}"     # ${UNSET} in a comment is never read
    e: {version: 2c, community: '${AMP}'}
    f: {version: 2c, community: ${NULL}}
    g: {version: 2c, community: "pre-${COMM}-$$-post"}
    h: {version: 2c, community: "${UNSET:-}x"}
# ${UNSET} on a comment line
bus:
  buffer:
    no_spill: ${BOOL}
  max_bytes: ${SIZE}
`
	cfg, err := Parse("v.yaml", []byte(y), env(map[string]string{
		"SITE": "dc1", "PORT": "1161", "TIMEOUT": "1500ms", "COMM": "pub #lic", "QUOTED": "'q'",
		"FLOW": "{x: [y", "STAR": "*star", "AMP": "&amp", "NULL": "null", "BOOL": "true", "SIZE": "2MiB",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cred := func(n string) string { return cfg.SNMP.Credentials[n].Community }
	for name, want := range map[string]string{"a": "pub #lic", "b": "'q'", "c": "{x: [y", "d": "*star", "e": "&amp", "f": "null", "g": "pre-pub #lic-$-post", "h": "x"} {
		if got := cred(name); got != want {
			t.Errorf("credential %s: community = %q, want %q", name, got, want)
		}
	}
	if cfg.Site != "dc1" || cfg.SNMP.Port != 1161 || cfg.SNMP.Timeout.D() != 1500*time.Millisecond || !cfg.Bus.Buffer.NoSpill || cfg.Bus.MaxBytes != 2<<20 {
		t.Errorf("typed values from variables: site %q port %d timeout %s no_spill %v max_bytes %d",
			cfg.Site, cfg.SNMP.Port, cfg.SNMP.Timeout, cfg.Bus.Buffer.NoSpill, cfg.Bus.MaxBytes)
	}
}

func TestVariableErrors(t *testing.T) {
	y := "site: a\nsnmp:\n  credential: x\n  credentials:\n    x: {version: 2c, community: ${NOPE}}\n    y:\n      version: 2c\n      community: ${NL}\n  port: ${PORT}\n"
	_, err := Parse("bad.yaml", []byte(y), env(map[string]string{"NL": "a\nb", "PORT": "lots"}))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		"bad.yaml:5: environment variable NOPE is not set (set it, or write ${NOPE:-default})",
		"bad.yaml:8: environment variable NL contains a newline; config values must be one line",
		`bad.yaml:9: snmp.port: "lots" is a string, want an integer`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant (one per problem: the empty community is the unset variable):\n%s", err, strings.Join(want, "\n"))
	}
}

// One run reports every problem of the file, sorted by line: a value that
// does not decode keeps its default and does not stop the rest.
func TestEveryProblemInOneRun(t *testing.T) {
	y := "site: dc1\nsnmp:\n  timeout: fast\n  timout: 2s\n  port: 70000\npolling:\n  plugins:\n    - name: interface\n      filter: resource_sitee = \"a\"\n"
	_, err := Parse("bad.yaml", []byte(y), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	for i, w := range []string{
		`bad.yaml:3: snmp.timeout: "fast" is not a duration`,
		`bad.yaml:4: snmp.timout: unknown key "timout"`,
		"bad.yaml:5: snmp.port: 70000 is out of range 1..65535",
		"bad.yaml:9: polling.plugins[0].filter:",
	} {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("line %d of\n%s\nwant it to start with %q", i+1, err, w)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d problems reported, want 4:\n%s", len(got), err)
	}
}

// A check given to Parse (node.Check) runs even when the core config has
// problems, and its errors join the config's, in line order.
func TestChecksJoinTheReport(t *testing.T) {
	check := func(c *Config) error { return c.Errorf("polling.plugins[0].options.x", "plugin problem") }
	y := "snmp:\n  port: 0\npolling:\n  plugins:\n    - name: interface\n      options: {x: 1}\n"
	_, err := Parse("bad.yaml", []byte(y), env(nil), check)
	if err == nil || err.Error() != "bad.yaml:2: snmp.port: 0 is out of range 1..65535\nbad.yaml:6: polling.plugins[0].options.x: plugin problem" {
		t.Errorf("err = %v", err)
	}
}
