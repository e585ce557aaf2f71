package config

import (
	"strings"
	"testing"
)

// TestOpenListenersRefused: a listener bound beyond loopback without
// authentication fails validate at its key, naming the keys to set, unless
// the config says insecure for it; loopback and authenticated listeners
// pass.
func TestOpenListenersRefused(t *testing.T) {
	// bcrypt of "s3cret", cost 4.
	const hash = "$2a$04$H7ysCbkUCwCYkp5aPKCmEu.hcNehrnObKlZE3JSnEzIwdLPZ1DGBm"
	cases := []struct {
		name, yaml string
		want       string // "" = valid
	}{
		{"http open", "http:\n  listen: 0.0.0.0:9301\n",
			`c.yaml:2: http.listen: "0.0.0.0:9301" is reachable from other hosts without authentication: set http.basic_auth_users (bcrypt hashes), or http.tls_server_config with client_auth_type RequireAndVerifyClientCert, or bind to 127.0.0.1; or set http.insecure: true`},
		{"http all interfaces", "http:\n  listen: :9301\n", "c.yaml:2: http.listen"},
		{"http loopback", "http:\n  listen: 127.0.0.1:9301\n", ""},
		{"http basic auth", "http:\n  listen: 0.0.0.0:9301\n  basic_auth_users:\n    prometheus: " + hash + "\n", ""},
		{"http clear password", "http:\n  listen: 127.0.0.1:9301\n  basic_auth_users:\n    prometheus: s3cret\n", "c.yaml:4: http.basic_auth_users.prometheus: is not a bcrypt hash"},
		{"http mutual TLS", "http:\n  listen: 0.0.0.0:9301\n  tls_server_config: {cert_file: c.pem, key_file: k.pem, client_ca_file: ca.pem, client_auth_type: RequireAndVerifyClientCert}\n", ""},
		{"http insecure", "http:\n  listen: 0.0.0.0:9301\n  insecure: true\n", ""},
		{"bus open", "bus:\n  listen: 0.0.0.0:4222\n",
			`c.yaml:2: bus.listen: "0.0.0.0:4222" is reachable from other hosts without authentication: set bus.listen_users (a user and password per client process) or bus.listen_tls with verify: true (mutual TLS), or bind to 127.0.0.1; or set bus.listen_insecure: true`},
		{"bus users", "bus:\n  listen: 0.0.0.0:4222\n  listen_users: [{user: a, password: b}]\n", ""},
		{"bus insecure", "bus:\n  listen: 0.0.0.0:4222\n  listen_insecure: true\n", ""},
		{"leaf open", "bus:\n  leaf_listen: 10.1.2.3:7422\n", "c.yaml:2: bus.leaf_listen: \"10.1.2.3:7422\" is reachable from other hosts without authentication: set bus.leaf_users"},
		{"leaf mutual TLS", "bus:\n  leaf_listen: 0.0.0.0:7422\n  leaf_tls: {cert_file: c, key_file: k, ca_file: ca, verify: true}\n", ""},
		{"routes open", "bus:\n  cluster:\n    listen: 0.0.0.0:6222\n    routes: [nats-route://a:6222]\n", "c.yaml:3: bus.cluster.listen: \"0.0.0.0:6222\" is reachable from other hosts without authentication: set bus.cluster.user and bus.cluster.password"},
		{"routes with password", "bus:\n  cluster:\n    listen: 0.0.0.0:6222\n    routes: [nats-route://a:6222]\n    user: r\n    password: p\n", ""},
		{"routes loopback", "bus:\n  cluster:\n    listen: 127.0.0.1:6222\n    routes: [nats-route://127.0.0.1:6222]\n", ""},
	}
	for _, c := range cases {
		_, err := Parse("c.yaml", []byte(c.yaml), env(nil))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n%v\nwant\n%s", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: a password in the error: %v", c.name, err)
		}
	}
}
