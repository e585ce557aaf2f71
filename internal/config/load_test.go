package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const good = `site: dc1
data_dir: /var/lib/panoptes
http:
  listen: 127.0.0.1:9301
bus:
  max_age: 12h
  max_bytes: 2GiB
discovery:
  interval: 1m
  sources:
    - plugin: csv
      path: devices.csv
snmp:
  timeout: 1500ms
  credential: lab
  credentials:
    lab:
      version: 2c
      community: ${COMMUNITY}
    secure:
      version: 3
      username: panoptes
      security_level: authPriv
      auth_protocol: SHA
      auth_passphrase: ${AUTH:-defaultauthpass}
      priv_protocol: AES
      priv_passphrase: "$${literal}dollar"
polling:
  plugins:
    - name: interface
      interval: 30
      filter: resource_class = "network"
sinks:
  - type: file
    path: out/metrics.jsonl
    max_size: 10MiB
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse("/etc/panoptes/panoptes.yaml", []byte(good), env(map[string]string{"COMMUNITY": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site != "dc1" || cfg.Discovery.Defaults.Site != "dc1" {
		t.Errorf("site = %q, defaults.site = %q", cfg.Site, cfg.Discovery.Defaults.Site)
	}
	if got := cfg.SNMP.Credentials["lab"].Community; got != "s3cret" {
		t.Errorf("community = %q, want expanded from env", got)
	}
	if got := cfg.SNMP.Credentials["secure"].AuthPassphrase; got != "defaultauthpass" {
		t.Errorf("auth passphrase = %q, want the ${VAR:-default} default", got)
	}
	if got := cfg.SNMP.Credentials["secure"].PrivPassphrase; got != "${literal}dollar" {
		t.Errorf("$$ escape: got %q", got)
	}
	if cfg.SNMP.Credentials["secure"].Version != "3" {
		t.Errorf("a bare 3 must decode as version \"3\"")
	}
	if cfg.SNMP.Timeout.D() != 1500*time.Millisecond {
		t.Errorf("timeout = %v", cfg.SNMP.Timeout)
	}
	if p := cfg.Polling.Plugins[0]; p.Interval.D() != 30*time.Second || p.Plugin != "interface" {
		t.Errorf("plugin = %+v; want bare 30 as seconds and plugin defaulted from name", p)
	}
	if cfg.Bus.MaxBytes != 2<<30 || cfg.Bus.MaxAge.D() != 12*time.Hour {
		t.Errorf("bus = %+v", cfg.Bus)
	}
	var file struct {
		Path    string   `yaml:"path"`
		MaxSize ByteSize `yaml:"max_size"`
	}
	if s := cfg.Sinks[0]; s.Name != "file" || s.Options.Decode(&file) != nil || s.Options.Abs(file.Path) != "/etc/panoptes/out/metrics.jsonl" || file.MaxSize != 10<<20 {
		t.Errorf("sink = %+v, its block %+v; want name defaulted, the rest for the sink type, paths relative to the config file", s, file)
	}
	var csv struct {
		Path string `yaml:"path"`
	}
	if s := cfg.Discovery.Sources[0]; s.Name != "csv" || s.Options.Decode(&csv) != nil || s.Options.Abs(csv.Path) != "/etc/panoptes/devices.csv" || s.Options.Key() != "discovery.sources[0]" {
		t.Errorf("source = %+v, its block %+v", s, csv)
	}
	if cfg.DataDir != "/var/lib/panoptes" {
		t.Errorf("absolute data_dir changed: %q", cfg.DataDir)
	}
	if cfg.Line("snmp.credentials.lab.community") != 19 {
		t.Errorf("line of community = %d, want 19", cfg.Line("snmp.credentials.lab.community"))
	}
}

func TestRuntimeMemoryLimit(t *testing.T) {
	for in, want := range map[string]struct {
		limit int64
		auto  bool
	}{"": {0, true}, "auto": {0, true}, "off": {0, false}, "2GiB": {2 << 30, false}} {
		c, err := Parse("r.yaml", []byte("runtime:\n  memory_limit: \""+in+"\"\n"), env(nil))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if l, a := c.Runtime.MemoryLimitBytes(); l != want.limit || a != want.auto {
			t.Errorf("%q: %d, auto %v; want %d, %v", in, l, a, want.limit, want.auto)
		}
	}
}

func TestRuntimeMaxProcs(t *testing.T) {
	for in, want := range map[string]int{"": 0, "max_procs: auto": 0, "max_procs: 1": 1, "max_procs: \"4\"": 4} {
		c, err := Parse("r.yaml", []byte("runtime:\n  "+in+"\n"), env(nil))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if n := c.Runtime.FixedMaxProcs(); n != want {
			t.Errorf("%q: %d, want %d (0: auto)", in, n, want)
		}
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	cfg, err := Parse("empty.yaml", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site != DefaultSite || cfg.HTTP.Listen != DefaultHTTPListen || cfg.SNMP.Port != 161 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

// Each bad config must be rejected with file:line: key and a reason.
func TestParseBad(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top key", "site: a\nbogus: 1\n", []string{"bad.yaml:2:", `unknown key "bogus"`}},
		{"unknown nested key", "snmp:\n  port: 161\n  timout: 2s\n", []string{"bad.yaml:3: snmp.timout:", `unknown key "timout"`}},
		{"wrong type", "snmp:\n  port: abc\n", []string{"bad.yaml:2: snmp.port:", `"abc" is a string, want an integer`}},
		{"list for string", "site: [a, b]\n", []string{"bad.yaml:1: site:", "want a string"}},
		{"bad duration", "snmp:\n  timeout: fast\n", []string{"bad.yaml:2: snmp.timeout:", `"fast" is not a duration`}},
		{"bad size", "bus:\n  max_bytes: lots\n", []string{"bad.yaml:2: bus.max_bytes:", "not a size"}},
		{"port range", "snmp:\n  port: 70000\n", []string{"bad.yaml:2: snmp.port: 70000 is out of range"}},
		{"site with dot", "site: dc1.example\n", []string{"bad.yaml:1: site:", "must not contain"}},
		{"bad version", "snmp:\n  credentials:\n    x:\n      version: 4\n      community: c\n", []string{"bad.yaml:4: snmp.credentials.x.version:", `"4" is not one of`}},
		{"short v3 pass", "snmp:\n  credential: x\n  credentials:\n    x:\n      version: 3\n      username: u\n      security_level: authPriv\n      auth_protocol: SHA\n      auth_passphrase: short\n      priv_protocol: AES\n      priv_passphrase: \"\"\n",
			[]string{"bad.yaml:9: snmp.credentials.x.auth_passphrase: must be at least 8", "bad.yaml:11: snmp.credentials.x.priv_passphrase"}},
		{"missing env", "snmp:\n  credentials:\n    x:\n      version: 2c\n      community: ${NOPE}\n", []string{"bad.yaml:5: environment variable NOPE is not set"}},
		{"unknown default credential", "snmp:\n  credential: nope\n  credentials:\n    x: {version: 2c, community: c}\n", []string{"bad.yaml:2: snmp.credential:", `"nope" is not one of snmp.credentials (x)`}},
		{"bad filter", "polling:\n  plugins:\n    - name: interface\n      filter: resource_sitee = \"a\"\n", []string{"bad.yaml:4: polling.plugins[0].filter:", "resource_sitee"}},
		{"short interval", "polling:\n  plugins:\n    - name: interface\n      interval: 10ms\n", []string{"bad.yaml:4: polling.plugins[0].interval:", "too short"}},
		{"duplicate plugin", "polling:\n  plugins:\n    - name: interface\n    - name: interface\n", []string{"bad.yaml:4: polling.plugins[1].name:", "used by another plugin"}},
		{"classify_ttl without classify", "discovery:\n  sources:\n    - plugin: csv\n      path: x.csv\n      classify_ttl: 1h\n", []string{"bad.yaml:5: discovery.sources[0].classify_ttl:", "needs classify: true"}},
		{"bad bus url", "bus:\n  url: http://x:4222\n", []string{"bad.yaml:2: bus.url:", "not a NATS URL"}},
		{"unknown role", "roles: [poller, polling]\n", []string{"bad.yaml:1: roles[1]:", `"polling" is not a role`}},
		{"duplicate role", "roles:\n  - poller\n  - poller\n", []string{"bad.yaml:3: roles[1]:", "listed twice"}},
		{"bad node id", "cluster:\n  node_id: a.b\n", []string{"bad.yaml:2: cluster.node_id:", "only letters, digits"}},
		{"short heartbeat", "cluster:\n  heartbeat: 10ms\n", []string{"bad.yaml:2: cluster.heartbeat:", "out of range"}},
		{"zero capacity", "cluster:\n  capacity: 0\n", []string{"bad.yaml:2: cluster.capacity: 0 is out of range"}},
		{"zero enrichment concurrency", "enrichment:\n  max_concurrent: 0\n", []string{"bad.yaml:2: enrichment.max_concurrent: 0 is out of range 1..1000"}},
		{"small memory limit", "runtime:\n  memory_limit: 10MiB\n", []string{"bad.yaml:2: runtime.memory_limit: 10MiB is below 64MiB"}},
		{"bad memory limit", "runtime:\n  memory_limit: lots\n", []string{"bad.yaml:2: runtime.memory_limit:", "not a size", "auto or off"}},
		{"bad gc percent", "runtime:\n  gc_percent: -5\n", []string{"bad.yaml:2: runtime.gc_percent: -5 is out of range"}},
		{"bad max procs", "runtime:\n  max_procs: some\n", []string{"bad.yaml:2: runtime.max_procs:", `"some" is not auto or a number of Ps`}},
		{"zero max procs", "runtime:\n  max_procs: 0\n", []string{"bad.yaml:2: runtime.max_procs:", `"0" is not auto`}},
		{"syntax error", "site: a\n  b: c\n", []string{"bad.yaml:2:"}},
		{"empty source plugin", "discovery:\n  sources:\n    - path: x.csv\n", []string{"bad.yaml:3: discovery.sources[0].plugin: is empty"}},
		{"several errors at once", "snmp:\n  port: 0\n  retries: 99\n", []string{"bad.yaml:2: snmp.port", "bad.yaml:3: snmp.retries"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(c.yaml), env(nil))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.yaml)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	y := "snmp:\n  credentials:\n    x:\n      version: 3\n      username: u\n      security_level: authPriv\n      auth_protocol: SHA\n      auth_passphrase: TOPSECRET1\n      priv_protocol: ROT13\n      priv_passphrase: TOPSECRET2\n      community: TOPSECRET3\n"
	_, err := Parse("bad.yaml", []byte(y), env(nil))
	if err == nil {
		t.Fatal("accepted a bad credential")
	}
	if strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("error leaks a secret: %v", err)
	}
	c := Credential{Version: "2c", Community: "TOPSECRET"}
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
		if strings.Contains(s, "TOPSECRET") {
			t.Errorf("credential text leaks the community: %s", s)
		}
	}
}

func TestLoadNamesFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte("sit: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p+":1:") {
		t.Fatalf("err = %v, want it to name %s:1", err, p)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"1024": 1024, "1KiB": 1024, "1.5MiB": 3 << 19, "2GB": 2e9, "512K": 512 << 10} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "MiB", "1XB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}
}

// The config accepts the spellings the SNMP layer understands: any case,
// and net-snmp's dashed protocol names.
func TestCredentialSpellings(t *testing.T) {
	c := Credential{Version: "3", Username: "u", SecurityLevel: "authpriv", AuthProtocol: "sha-256",
		AuthPassphrase: "12345678", PrivProtocol: "aes-256", PrivPassphrase: "12345678"}
	if ps := c.Problems(); len(ps) != 0 {
		t.Errorf("net-snmp spellings rejected: %v", ps)
	}
	c.AuthProtocol = "SHA1024"
	if ps := c.Problems(); len(ps) != 1 || ps[0].Field != "auth_protocol" {
		t.Errorf("an unknown protocol must still be rejected: %v", ps)
	}
}

// Bus credential and TLS files, like every other path, are relative to the
// config file, not to the working directory.
func TestBusPathsRelativeToConfig(t *testing.T) {
	y := `bus:
  domain: edge-x
  leaf: {remotes: ["nats-leaf://hub:7422"], creds_file: hub.creds, tls: {ca_file: ca.pem, cert_file: /abs/c.pem, key_file: k.pem}}
  tls: {ca_file: ca.pem, cert_file: /abs/c.pem, key_file: k.pem}
  cluster: {name: c, listen: "127.0.0.1:6222", routes: ["nats-route://127.0.0.1:6222"], tls: {cert_file: r.pem, key_file: r.key, ca_file: rca.pem}}
  listen: 0.0.0.0:4222
  listen_tls: {cert_file: tls/node.pem, key_file: tls/node-key.pem, ca_file: tls/ca.pem, verify: true}
`
	cfg, err := Parse("/etc/panoptes/p.yaml", []byte(y), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Bus
	for what, got := range map[string]string{
		"bus.leaf.creds_file": b.Leaf.CredsFile, "bus.leaf.tls.ca_file": b.Leaf.TLS.CAFile, "bus.tls.ca_file": b.TLS.CAFile, "bus.tls.key_file": b.TLS.KeyFile,
		"bus.cluster.tls.cert_file": b.Cluster.TLS.CertFile, "bus.cluster.tls.ca_file": b.Cluster.TLS.CAFile,
		"bus.listen_tls.cert_file": b.ListenTLS.CertFile, "bus.listen_tls.key_file": b.ListenTLS.KeyFile, "bus.listen_tls.ca_file": b.ListenTLS.CAFile,
	} {
		if !strings.HasPrefix(got, "/etc/panoptes/") {
			t.Errorf("%s = %q, want it next to the config", what, got)
		}
	}
	if b.TLS.CertFile != "/abs/c.pem" {
		t.Errorf("absolute bus.tls.cert_file changed to %q", b.TLS.CertFile)
	}
}
