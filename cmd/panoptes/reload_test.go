package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// panoptes reload posts to the node's /-/reload, with the basic auth user
// and PANOPTES_HTTP_PASSWORD, and prints the node's answer; a refusal is
// an error with the node's text; a config that does not load is not sent.
func TestReloadCmd(t *testing.T) {
	var calls int
	answer, code := "reloaded: sinks: added two", http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "pw" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/-/reload" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		http.Error(w, answer, code)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "panoptes.yaml")
	writeFile(t, cfg, "site: lab\nhttp: {listen: \"0.0.0.0:"+port+"\", insecure: true}\n")
	t.Setenv("PANOPTES_HTTP_PASSWORD", "pw")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		rc := Main(context.Background(), append([]string{"reload", "--config", cfg}, args...), &out, &errOut)
		return rc, out.String(), errOut.String()
	}
	if rc, out, errOut := run("--user", "ops"); rc != 0 || !strings.Contains(out, "reloaded: sinks: added two") {
		t.Errorf("reload: rc %d, out %q, err %q", rc, out, errOut)
	}
	if rc, _, errOut := run(); rc != 1 || !strings.Contains(errOut, "--user and PANOPTES_HTTP_PASSWORD") {
		t.Errorf("reload without a login: rc %d, err %q", rc, errOut)
	}
	answer, code = "reload refused: restart needed for site", http.StatusBadRequest
	if rc, _, errOut := run("--user", "ops"); rc != 1 || !strings.Contains(errOut, "restart needed for site (HTTP 400)") {
		t.Errorf("refused reload: rc %d, err %q", rc, errOut)
	}
	before := calls
	writeFile(t, cfg, "site: lab\nbogus: 1\n")
	if rc, _, errOut := run("--user", "ops"); rc != 1 || !strings.Contains(errOut, "panoptes.yaml:2: bogus") || calls != before {
		t.Errorf("invalid config: rc %d, err %q, sent %v", rc, errOut, calls != before)
	}
}
