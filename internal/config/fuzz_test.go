package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// FuzzParse reads any bytes as a config file. It gives a config or
// problems, never both; every problem names the file (and a line of it when
// it names one); a second parse gives the same problems; and what it
// accepts validates. Inputs that mention a <secret>_file are skipped: the
// loader reads those files (TestSecretFiles covers it), and a fuzzer must
// not read this machine's.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{good, "site: a\nbogus: 1\n", "snmp:\n  timeout: fast\n  port: ${PORT}\n",
		"a: &x {b: *x}\n", "sinks:\n  - {type: file, path: x, source: {kafka: {brokers: [a]}}}\n", "site: [${A}, $$]\n",
		"site: ${SITE}\nsnmp: {port: ${PORT}, credentials: {a: {version: 2c, community: ${COMMUNITY:-x}}}}\n",
		"site: a\nsnmp:\n  timeout: 5\n  retries: -1\n  port: 99999\nunknown: 1\n"} {
		f.Add([]byte(seed))
	}
	paths, _ := filepath.Glob("../../examples/*.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	lookup := func(k string) (string, bool) { return "v{" + k + "}#", k != "UNSET" }
	f.Fuzz(func(t *testing.T, raw []byte) {
		if bytes.Contains(raw, []byte("_file")) {
			return
		}
		cfg, err := Parse("f.yaml", raw, lookup)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("config %v with error %v", cfg != nil, err)
		}
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted a config that does not validate: %v", err)
			}
			return
		}
		// YAML breaks lines at \n, \r\n and a lone \r ("\r0" is two lines).
		lines := bytes.Count(raw, []byte("\n")) + bytes.Count(raw, []byte("\r")) - bytes.Count(raw, []byte("\r\n")) + 1
		for _, e := range plugin.Flatten(err) {
			if !strings.HasPrefix(e.Error(), "f.yaml") || plugin.LineOf(e) > lines {
				t.Fatalf("problem %q does not name the file, or names a line past its %d", e, lines)
			}
		}
		if _, again := Parse("f.yaml", raw, lookup); again == nil || again.Error() != err.Error() {
			t.Fatalf("a second parse gives other problems:\n%v\n%v", err, again)
		}
	})
}

// FuzzVariable: a variable's value reaches its field exactly, whatever YAML
// would make of it, alone or inside a longer value; only a value with a
// newline is refused, naming its line, and an empty community is the
// credential's problem, not the variable's.
func FuzzVariable(f *testing.F) {
	for _, v := range []string{"pub #lic", "'q'", "{x: [y", "*star", "&amp", "null", "~", "123", "true", "2001-12-14", "0x1F",
		"1e3", ".inf", "<<", "a: b", "- x", "| x", "> x", "%TAG", "@x", "`x`", "\"", "$$", "${COMM}", "__panoptes_var_0__", " x ", "\t", "\x00", "\xff", ""} {
		f.Add(v)
	}
	const y = "site: dc1\nsnmp:\n  credential: a\n  credentials:\n    a: {version: 2c, community: ${COMM}}\n" +
		"    b:\n      version: 2c\n      community: \"pre-${COMM}\"\n    c:\n      version: 2c\n      community: ${COMM}\n"
	f.Fuzz(func(t *testing.T, v string) {
		cfg, err := Parse("v.yaml", []byte(y), env(map[string]string{"COMM": v}))
		if strings.ContainsAny(v, "\r\n") {
			if err == nil || !strings.Contains(err.Error(), "v.yaml:5: environment variable COMM contains a newline") {
				t.Fatalf("%q: error %v, want the newline named at line 5", v, err)
			}
			return
		}
		if strings.TrimSpace(v) == "" {
			return // an empty community: the credential's own problem
		}
		if err != nil {
			t.Fatalf("%q refused: %v", v, err)
		}
		for name, want := range map[string]string{"a": v, "b": "pre-" + v, "c": v} {
			if got := cfg.SNMP.Credentials[name].Community; got != want {
				t.Fatalf("credential %s: community %q, want %q", name, got, want)
			}
		}
	})
}
