package gnmi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	pb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/panoptes-go/panoptes/internal/gnmi"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/sim/gnmisim"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

const gi1 = "/interfaces/interface[name=Gi1/0/1]"

func TestCapabilities(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{})
	caps, err := dial(t, gnmi.Config{Address: tg.Addr}).Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(caps.GetSupportedEncodings()) != 3 || caps.GetGNMIVersion() == "" || len(caps.GetSupportedModels()) == 0 {
		t.Fatalf("capabilities: %v", caps)
	}
}

// TestGetEncodings reads one interface's state with each encoding: PROTO
// gives typed leaves, JSON and JSON_IETF one tree (RFC 7951 quotes 64-bit
// integers); all three carry the same counter.
func TestGetEncodings(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{UpdateInterval: time.Hour})
	c := dial(t, gnmi.Config{Address: tg.Addr})
	ctx := context.Background()
	ns, err := c.Get(ctx, "", []string{gi1 + "/state/counters/in-octets"}, pb.Encoding_PROTO)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 {
		t.Fatalf("PROTO: %d notifications", len(ns))
	}
	want, ok := leaves(t, ns)[gi1+"/state/counters/in-octets"].(uint64)
	if !ok || want == 0 {
		t.Fatalf("PROTO in-octets: %v", leaves(t, ns))
	}
	for _, enc := range []pb.Encoding{pb.Encoding_JSON, pb.Encoding_JSON_IETF} {
		ns, err := c.Get(ctx, "", []string{gi1 + "/state"}, enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || len(ns[0].GetUpdate()) != 1 {
			t.Fatalf("%v: %v", enc, ns)
		}
		tree, err := gnmi.DecodeJSON(gnmi.JSONBytes(ns[0].GetUpdate()[0].GetVal()))
		if err != nil {
			t.Fatal(err)
		}
		got := tree.(map[string]any)["counters"].(map[string]any)["in-octets"]
		if enc == pb.Encoding_JSON_IETF {
			if got != gnmi.Number(got.(string)) && gnmi.Number(got.(string)) != want {
				t.Errorf("JSON_IETF in-octets %v, want %d as a string", got, want)
			}
		} else if got != want {
			t.Errorf("JSON in-octets %v (%T), want %d", got, got, want)
		}
	}
	if _, err := c.Get(ctx, "", []string{gi1}, pb.Encoding_ASCII); gnmi.StatusOf(err) != metric.StatusMissingMetrics {
		t.Errorf("ASCII encoding: %v", err)
	}
}

// TestUnsupportedPath: a path the target has no data for is status 6
// (missing metrics) naming the path.
func TestUnsupportedPath(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{})
	_, err := dial(t, gnmi.Config{Address: tg.Addr}).Get(context.Background(), "", []string{"/qos/interfaces"}, pb.Encoding_PROTO)
	if gnmi.StatusOf(err) != metric.StatusMissingMetrics || !strings.Contains(err.Error(), "/qos/interfaces") {
		t.Fatalf("err %v (status %d), want status 6 naming /qos/interfaces", err, gnmi.StatusOf(err))
	}
}

// TestOnceAndWildcards: ONCE returns every matching leaf then ends; keys
// may be omitted or wildcards, elements may be "*", prefixes combine.
func TestOnceAndWildcards(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{})
	c := dial(t, gnmi.Config{Address: tg.Addr})
	for _, tc := range []struct {
		prefix, path string
		want         int // in-octets leaves
	}{
		{"", "/interfaces/interface/state/counters/in-octets", 55},
		{"", "/interfaces/interface[name=*]/state/counters/in-octets", 55},
		{"/interfaces", "interface[name=Gi1/0/2]/state/counters/in-octets", 1},
		{"", "openconfig:/interfaces/interface[name=Gi1/0/2]/*/counters/in-octets", 1},
	} {
		ns, err := c.Once(context.Background(), &gnmi.Request{Prefix: tc.prefix, Subscriptions: []gnmi.Subscription{{Path: tc.path}}})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.prefix, tc.path, err)
		}
		got := 0
		for p := range leaves(t, ns) {
			if strings.HasSuffix(p, "/in-octets") {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%s %s: %d in-octets leaves, want %d", tc.prefix, tc.path, got, tc.want)
		}
	}
	// A vendor-native origin.
	ns, err := c.Once(context.Background(), &gnmi.Request{Subscriptions: []gnmi.Subscription{{Path: "sim:/device"}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := leaves(t, ns)["sim:/device/template"]; v != "switch48" {
		t.Errorf("sim:/device/template = %v (%v)", v, leaves(t, ns))
	}
}

// TestPoll: each poll returns the current values; counters move between
// polls.
func TestPoll(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{UpdateInterval: 100 * time.Millisecond})
	c := dial(t, gnmi.Config{Address: tg.Addr})
	ctx := context.Background()
	p, err := c.Poll(ctx, &gnmi.Request{Subscriptions: []gnmi.Subscription{{Path: gi1 + "/state/counters/in-octets"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var vals []uint64
	for i := 0; i < 3; i++ {
		ns, err := p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := leaves(t, ns)[gi1+"/state/counters/in-octets"].(uint64)
		if !ok {
			t.Fatalf("poll %d: %v", i, ns)
		}
		vals = append(vals, v)
		time.Sleep(300 * time.Millisecond)
	}
	if !(vals[0] < vals[1] && vals[1] < vals[2]) {
		t.Errorf("in-octets over three polls: %v, want increasing", vals)
	}
}

// TestAuth: the right password works; a wrong one is status 1 naming the
// credential, never the password.
func TestAuth(t *testing.T) {
	tg := startTarget(t, "switch48", gnmisim.Options{Username: "admin", Password: "s3cret-pw"})
	ctx := context.Background()
	if _, err := dial(t, gnmi.Config{Address: tg.Addr, Username: "admin", Password: "s3cret-pw"}).Capabilities(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := dial(t, gnmi.Config{Address: tg.Addr, Credential: "lab", Username: "admin", Password: "wrong-pw"}).
		Get(ctx, "", []string{gi1}, pb.Encoding_PROTO)
	if gnmi.StatusOf(err) != metric.StatusAuthFailure || !strings.Contains(err.Error(), `credential "lab"`) ||
		strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v (status %d)", err, gnmi.StatusOf(err))
	}
}

// TestUnreachable: a closed port is a network failure at once.
func TestUnreachable(t *testing.T) {
	c := dial(t, gnmi.Config{Address: "127.0.0.1:1", Timeout: 3 * time.Second})
	start := time.Now()
	_, err := c.Capabilities(context.Background())
	if gnmi.StatusOf(err) != metric.StatusNetworkFailure || time.Since(start) > 2*time.Second {
		t.Fatalf("closed port: %v (status %d) after %s", err, gnmi.StatusOf(err), time.Since(start))
	}
}

// TestTimeout: a target that accepts the connection but never answers is a
// timeout (status 3).
func TestTimeout(t *testing.T) {
	lis := listenSilent(t)
	c := dial(t, gnmi.Config{Address: lis, Timeout: 500 * time.Millisecond})
	_, err := c.Capabilities(context.Background())
	if gnmi.StatusOf(err) != metric.StatusTimeout {
		t.Fatalf("silent target: %v (status %d)", err, gnmi.StatusOf(err))
	}
}

// TestTLS covers TLS with a CA, mutual TLS, a wrong CA (an error naming
// tls.ca_file), a missing client certificate, and skip-verify.
func TestTLS(t *testing.T) {
	ca := pki.New(t)
	cert, key := ca.Issue(t, "target")
	clientCert, clientKey := ca.Issue(t, "collector")
	other := pki.New(t)
	ctx := context.Background()

	t.Run("server", func(t *testing.T) {
		tc, err := gnmisim.ServerTLS(cert, key, "")
		if err != nil {
			t.Fatal(err)
		}
		tg := startTarget(t, "switch48", gnmisim.Options{TLS: tc})
		if _, err := dial(t, gnmi.Config{Address: tg.Addr, TLS: gnmi.TLS{Enabled: true, CAFile: ca.CAFile}}).Capabilities(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = dial(t, gnmi.Config{Address: tg.Addr, Credential: "lab", TLS: gnmi.TLS{Enabled: true, CAFile: other.CAFile}}).Capabilities(ctx)
		if gnmi.StatusOf(err) != metric.StatusAuthFailure || !strings.Contains(err.Error(), "tls.ca_file") {
			t.Errorf("wrong CA: %v (status %d), want status 1 naming tls.ca_file", err, gnmi.StatusOf(err))
		}
		if _, err := dial(t, gnmi.Config{Address: tg.Addr, TLS: gnmi.TLS{Enabled: true, SkipVerify: true}}).Capabilities(ctx); err != nil {
			t.Errorf("skip-verify: %v", err)
		}
		_, err = dial(t, gnmi.Config{Address: tg.Addr}).Capabilities(ctx)
		if err == nil || !strings.Contains(err.Error(), "TLS") {
			t.Errorf("plaintext to a TLS target: %v, want a hint to enable tls", err)
		}
	})
	t.Run("mutual", func(t *testing.T) {
		tc, err := gnmisim.ServerTLS(cert, key, ca.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		tg := startTarget(t, "switch48", gnmisim.Options{TLS: tc})
		good := gnmi.TLS{Enabled: true, CAFile: ca.CAFile, CertFile: clientCert, KeyFile: clientKey}
		if _, err := dial(t, gnmi.Config{Address: tg.Addr, TLS: good}).Get(ctx, "", []string{gi1 + "/state/name"}, pb.Encoding_PROTO); err != nil {
			t.Fatal(err)
		}
		_, err = dial(t, gnmi.Config{Address: tg.Addr, TLS: gnmi.TLS{Enabled: true, CAFile: ca.CAFile}}).Get(ctx, "", []string{gi1 + "/state/name"}, pb.Encoding_PROTO)
		if gnmi.StatusOf(err) != metric.StatusAuthFailure || !strings.Contains(err.Error(), "tls.cert_file") {
			t.Errorf("no client certificate: %v (status %d), want status 1 naming tls.cert_file", err, gnmi.StatusOf(err))
		}
	})
	t.Run("config", func(t *testing.T) {
		if _, err := gnmi.Dial(gnmi.Config{Address: "127.0.0.1:1", Credential: "lab", TLS: gnmi.TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}}); err == nil ||
			!strings.Contains(err.Error(), "tls.ca_file") {
			t.Errorf("missing CA file: %v", err)
		}
	})
}

func TestStatusOf(t *testing.T) {
	if gnmi.StatusOf(nil) != metric.StatusSuccess || gnmi.StatusOf(context.DeadlineExceeded) != metric.StatusTimeout ||
		gnmi.StatusOf(errors.New("x")) != metric.StatusNetworkFailure {
		t.Error("StatusOf")
	}
}

// TestHugeMessage: a message above the client's limit fails the RPC with a
// clear error (status 5) instead of being read into memory.
func TestHugeMessage(t *testing.T) {
	tg := startTarget(t, "router400", gnmisim.Options{UpdateInterval: time.Hour})
	_, err := dial(t, gnmi.Config{Address: tg.Addr, MaxMsgSize: 4096}).Get(context.Background(), "", []string{"/interfaces"}, pb.Encoding_JSON_IETF)
	if gnmi.StatusOf(err) != metric.StatusInternalFailure || !strings.Contains(err.Error(), "max message size") {
		t.Fatalf("a 1 MB answer to a 4 KiB limit: %v (status %d)", err, gnmi.StatusOf(err))
	}
}
