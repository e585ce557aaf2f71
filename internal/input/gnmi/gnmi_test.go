package gnmi

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	gnmiinput "github.com/panoptes-go/panoptes/internal/gnmi/input"
	"github.com/panoptes-go/panoptes/internal/input"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
)

const secret = "s3cr3t-pw"

// TestBadOptions: each bad option is refused naming its key; the password
// is never in a message.
func TestBadOptions(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"port": 70000}, "port: 70000: want 1-65535"},
		{map[string]any{"encoding": "xml"}, `encoding: encoding "xml": use json, json_ietf or proto`},
		{map[string]any{"mode": "often"}, `mode: mode "often": use sample, on_change or target_defined`},
		{map[string]any{"mappings": []string{"openconfig-interface"}}, `mappings[0]: "openconfig-interface" is not a shipped mapping (openconfig-bgp, openconfig-interfaces, openconfig-lldp, openconfig-platform) nor a .yaml file`},
		{map[string]any{"mappings": []string{"openconfig-bgp"}, "groups": []string{"interface"}}, `groups[0]: no mapping of this input makes "interface" groups (bgp_session)`},
		{map[string]any{"mappings": []string{"missing.yaml"}}, "mappings[0]: "},
		{map[string]any{"password": secret}, "username: is empty but a password is set"},
		{map[string]any{"username": "u", "password": secret, "tls": map[string]any{"ca_file": garbage}}, "tls.ca_file: " + garbage + " holds no PEM certificate"},
		{map[string]any{"tls": map[string]any{"ca_file": garbage, "insecure_skip_verify": true}}, "tls.insecure_skip_verify: is true together with tls.ca_file"},
		{map[string]any{"tls": map[string]any{"enabled": false, "ca_file": garbage}}, "tls.enabled: is false but other tls keys are set"},
		{map[string]any{"tls": map[string]any{"cert_file": garbage}}, "tls: cert_file and key_file go together"},
		{map[string]any{"flush": "-1s"}, "flush: -1s is negative"},
		{map[string]any{"colour": "red"}, `unknown key "colour"`},
		{map[string]any{"credentials": map[string]any{"ro": map[string]any{"password": secret}}}, "credentials.ro.username: is empty but a password is set"},
		{map[string]any{"credentials": map[string]any{"ro": map[string]any{"tls": map[string]any{"ca_file": garbage}}}}, "credentials.ro.tls.ca_file: " + garbage + " holds no PEM certificate"},
	} {
		_, err := input.Build(Name, plugin.BlockOf(c.opts), input.Deps{Name: "g", Interval: time.Minute})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v:\n got %v\nwant ...%s...", c.opts, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%v: the password is in the error: %v", c.opts, err)
		}
	}
}

// TestOpen: the target is the endpoint's host on the input's port or the
// resource's gnmi_port; a resource without a usable one is refused.
func TestOpen(t *testing.T) {
	in, err := input.Build(Name, plugin.BlockOf(map[string]any{"port": 6030, "mode": "on_change", "heartbeat_interval": "30s",
		"username": "rw", "credentials": map[string]any{"ro": map[string]any{"username": "ro", "password": secret}}}),
		input.Deps{Name: "g", Interval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		endpoint string
		meta     map[string]string
		want     string
	}{
		{"10.0.0.1", nil, "10.0.0.1:6030"},
		{"10.0.0.1:161", nil, "10.0.0.1:6030"},
		{"[2001:db8::1]:161", map[string]string{MetaPort: "57400"}, "[2001:db8::1]:57400"},
		{"2001:db8::1", nil, "[2001:db8::1]:6030"},
		{"sw1.example.net", map[string]string{MetaCredential: "ro"}, "sw1.example.net:6030"},
	} {
		s, err := in.Open(&resource.Resource{ID: "r", Type: "t", Endpoint: c.endpoint, Metadata: c.meta})
		if err != nil {
			t.Errorf("%s: %v", c.endpoint, err)
			continue
		}
		tg := s.(stream).t
		if tg.Config.Address != c.want {
			t.Errorf("%s %v: address %s, want %s", c.endpoint, c.meta, tg.Config.Address, c.want)
		}
		user := "rw"
		if c.meta[MetaCredential] != "" {
			user = c.meta[MetaCredential]
		}
		if tg.Config.Username != user {
			t.Errorf("%s %v: username %q, want %q", c.endpoint, c.meta, tg.Config.Username, user)
		}
		for _, sub := range tg.Subscriptions {
			if sub.Mode != "on_change" || sub.SampleInterval != 0 || sub.HeartbeatInterval != 30*time.Second {
				t.Errorf("mode override not applied: %+v", sub)
			}
		}
	}
	for _, c := range []struct {
		endpoint string
		meta     map[string]string
		want     string
	}{
		{"", nil, `resource_endpoint "": empty endpoint`},
		{"10.0.0.1", map[string]string{MetaPort: "ssh"}, `metadata gnmi_port "ssh": want a port number 1-65535`},
		{"10.0.0.1", map[string]string{MetaCredential: "admin"}, `metadata gnmi_credential "admin" is none of the input's credentials (ro)`},
	} {
		if _, err := in.Open(&resource.Resource{ID: "r", Endpoint: c.endpoint, Metadata: c.meta}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: %v, want ...%s", c.endpoint, c.meta, err, c.want)
		}
	}
}

type sink struct {
	mu       sync.Mutex
	statuses []int64
	groups   map[string]int
}

func (s *sink) emit(set *metric.GroupSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string]int{}
	}
	for _, g := range set.Groups {
		s.groups[g.Type]++
		if g.Type == "status" {
			m, _ := g.Metric("polling_status")
			s.statuses = append(s.statuses, m.Value.Int64())
		}
	}
}

func (s *sink) last() (int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statuses) == 0 {
		return -1, s.groups["interface"]
	}
	return s.statuses[len(s.statuses)-1], s.groups["interface"]
}

// TestStream runs the input against two simulated targets that require a
// password: with the right one both stream interface groups and say
// status 0; with a wrong one the status is 1 and neither the logs nor the
// status carry the password.
func TestStream(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (simulated gNMI targets): not with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48"}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Close()
	srv, err := gnmisim.Start(ctx, farm.Devices(), gnmisim.Options{UpdateInterval: 250 * time.Millisecond, Username: "panoptes", Password: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	reg := prometheus.NewRegistry()
	run := func(password string) (states *gnmiinput.States, sinks []*sink, stop func()) {
		in, err := input.Build(Name, plugin.BlockOf(map[string]any{"username": "panoptes", "password": password,
			"mappings": []string{"openconfig-interfaces"}, "flush": "200ms"}),
			input.Deps{Name: "gnmi", Interval: time.Second, Logger: log, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stopAll := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, tg := range srv.Targets() {
			_, port, _ := net.SplitHostPort(tg.Addr)
			s, err := in.Open(&resource.Resource{Site: "s", Class: "network", Subclass: "switch", Type: "sim", ID: tg.Name,
				Endpoint: "127.0.0.1:161", Metadata: map[string]string{MetaPort: port}})
			if err != nil {
				t.Fatal(err)
			}
			out := &sink{}
			sinks = append(sinks, out)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Run(runCtx, out.emit); err != nil {
					t.Errorf("Run after its ctx ended: %v", err)
				}
			}()
		}
		return in.(*Input).States(), sinks, func() { stopAll(); wg.Wait() }
	}

	states, sinks, stop := run(secret)
	waitFor(t, "both targets streaming", func() bool {
		for _, s := range sinks {
			if st, n := s.last(); st != 0 || n < 48 {
				return false
			}
		}
		return states.Count("success") == 2
	})
	stop()
	if n := states.Count("success"); n != 0 {
		t.Errorf("%d subscriptions still counted after their streams stopped", n)
	}

	states, sinks, stop = run("wrong-" + secret)
	waitFor(t, "status 1 on both", func() bool {
		for _, s := range sinks {
			if st, _ := s.last(); st != metric.StatusAuthFailure {
				return false
			}
		}
		return states.Count("auth_failure") == 2
	})
	stop()
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), `input gnmi`) {
		t.Errorf("the refusal's log does not name the credential:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the password is in the logs:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
