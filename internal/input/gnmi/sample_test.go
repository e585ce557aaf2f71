package gnmi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	_ "github.com/panoptes-go/panoptes/internal/discovery/csv" // the sample's source
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/node"
)

func noEnv(string) (string, bool) { return "", false }

// TestSample: sample.yaml loads through the real loader and validation
// (what panoptes validate runs) and its gnmi instance builds as written.
func TestSample(t *testing.T) {
	cfg, err := config.Load("sample.yaml", node.Check)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ic := range cfg.Inputs {
		if ic.Plugin != Name {
			continue
		}
		n++
		in, err := input.Build(ic.Plugin, ic.Options, input.Deps{Name: ic.Name, Interval: ic.Interval.D()})
		if err != nil {
			t.Fatalf("%s: %v", ic.Name, err)
		}
		g := in.(*Input)
		if g.port != 57400 || g.cfg.Username != "panoptes" || !g.cfg.TLS.Enabled || len(g.set.Groups()) < 4 {
			t.Errorf("sample options not applied: port %d, username %q, tls %v, %d groups", g.port, g.cfg.Username, g.cfg.TLS.Enabled, len(g.set.Groups()))
		}
	}
	if n != 1 {
		t.Fatalf("%d gnmi inputs in sample.yaml, want 1", n)
	}
}

// TestConfigErrors: option errors name file, line and key; password_file
// is read as the password, which no error shows.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "snmp: {credential: a, credentials: {a: {version: 2c, community: c}}}\ninputs:\n  - plugin: gnmi\n    options:\n"
	cfg, err := config.Parse(filepath.Join(dir, "ok.yaml"), []byte(head+"      username: u\n      password_file: pw\n"), noEnv, node.Check)
	if err != nil {
		t.Fatal(err)
	}
	in, err := input.Build(Name, cfg.Inputs[0].Options, input.Deps{Name: "gnmi"})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.(*Input).cfg.Password; got != secret {
		t.Errorf("password_file gave %q", got)
	}
	for _, c := range []struct{ yaml, want string }{
		{"      port: 0x\n", `bad.yaml:5: inputs[0].options.port: `},
		{"      username: u\n      password_file: pw\n      encoding: xml\n", `bad.yaml:7: inputs[0].options.encoding: encoding "xml": use json, json_ietf or proto`},
		{"      username: u\n      password_file: pw\n      password: x\n", `bad.yaml:6: inputs[0].options.password_file: is set together with password`},
		{"      tls: {ca_file: missing.pem}\n", `bad.yaml:5: inputs[0].options.tls.ca_file: open ` + filepath.Join(dir, "missing.pem")},
		{"      mappings: [openconfig-interfaces, nope]\n", `bad.yaml:5: inputs[0].options.mappings[1]: "nope" is not a shipped mapping`},
	} {
		// What panoptes validate reports: the loader's problems, or the
		// input's when it is built.
		cfg, err := config.Parse(filepath.Join(dir, "bad.yaml"), []byte(head+c.yaml), noEnv, node.Check)
		if err == nil {
			_, err = input.Build(Name, cfg.Inputs[0].Options, input.Deps{Name: "gnmi"})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant ...%s...", c.yaml, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%q: the password is in the error: %v", c.yaml, err)
		}
	}
}
