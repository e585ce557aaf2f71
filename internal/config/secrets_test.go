package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every secret may come from a file, <key>_file, relative to the config:
// its content is the value, trailing newlines trimmed.
func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secrets := map[string]string{"community": "pub #lic\n", "auth": "auth-pass-1\n", "priv": "priv-pass-1", "bus": "bus-pw\r\n",
		"listen": "listen-pw\n", "cluster": "cluster-pw\n", "leaf": "leaf-pw\n", "leafuser": "edge-pw\n"}
	if err := os.Mkdir(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range secrets {
		if err := os.WriteFile(filepath.Join(dir, "secrets", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	y := `snmp:
  credential: v2
  credentials:
    v2: {version: 2c, community_file: secrets/community}
    v3:
      version: 3
      username: u
      security_level: authPriv
      auth_protocol: SHA
      auth_passphrase_file: secrets/auth
      priv_protocol: AES
      priv_passphrase_file: ${SECRETS}/priv
bus:
  user: ops
  password_file: secrets/bus
  listen: 127.0.0.1:4222
  listen_users: [{user: a, password_file: secrets/listen}]
  cluster: {name: c, listen: "127.0.0.1:6222", routes: ["nats-route://127.0.0.1:6222"], user: r, password_file: secrets/cluster}
  leaf_listen: 127.0.0.1:7422
  leaf_users: [{user: e, password_file: secrets/leafuser}]
`
	cfg, err := Parse(filepath.Join(dir, "p.yaml"), []byte(y), env(map[string]string{"SECRETS": filepath.Join(dir, "secrets")}))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Bus
	for what, got := range map[string][2]string{
		"community":                 {cfg.SNMP.Credentials["v2"].Community, "pub #lic"},
		"auth_passphrase":           {cfg.SNMP.Credentials["v3"].AuthPassphrase, "auth-pass-1"},
		"priv_passphrase":           {cfg.SNMP.Credentials["v3"].PrivPassphrase, "priv-pass-1"},
		"bus.password":              {b.Password, "bus-pw"},
		"bus.listen_users.password": {b.ListenUsers[0].Password, "listen-pw"},
		"bus.cluster.password":      {b.Cluster.Password, "cluster-pw"},
		"bus.leaf_users.password":   {b.LeafUsers[0].Password, "edge-pw"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", what, got[0], got[1])
		}
	}

	edge := "bus:\n  domain: edge-x\n  leaf: {remotes: [\"nats-leaf://hub:7422\"], user: e, password_file: secrets/leaf}\n"
	cfg, err = Parse(filepath.Join(dir, "edge.yaml"), []byte(edge), env(nil))
	if err != nil || cfg.Bus.Leaf.Password != "leaf-pw" {
		t.Errorf("bus.leaf.password_file: %q, %v", cfg.Bus.Leaf.Password, err)
	}
}

func TestSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("TOPSECRET\n"[:6]), 0o600); err != nil {
		t.Fatal(err)
	}
	y := `snmp:
  credential: a
  credentials:
    a: {version: 2c, community_file: /nonexistent/community}
    b: {version: 2c, community: x, community_file: ` + short + `}
    c:
      version: 3
      username: u
      security_level: authNoPriv
      auth_protocol: SHA
      auth_passphrase_file: ` + short + `
`
	_, err := Parse(filepath.Join(dir, "bad.yaml"), []byte(y), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	p := filepath.Join(dir, "bad.yaml")
	want := []string{
		p + ":4: snmp.credentials.a.community_file: cannot read community from it: open /nonexistent/community: no such file or directory",
		p + ":5: snmp.credentials.b.community_file: is set together with community; give one of them",
		p + ":11: snmp.credentials.c.auth_passphrase: must be at least 8 characters (RFC 3414)",
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "TOPSEC") {
		t.Errorf("an error shows a secret read from a file: %v", err)
	}
}

// A bus URL that is refused is named without the password it may carry:
// a config reload logs every problem.
func TestBadBusURLHidesPassword(t *testing.T) {
	for _, u := range []string{"http://ops:s3cret-pw@x:4222", "nats://ops:s3cret-pw@[::1"} {
		_, err := Parse("bad.yaml", []byte("bus:\n  url: "+u+", nats://y:4222\n"), env(nil))
		if err == nil {
			t.Fatalf("%s accepted", u)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "bus.url: URL 1") || !strings.Contains(err.Error(), "not a NATS URL") {
			t.Errorf("the error does not name the URL: %v", err)
		}
	}
}
