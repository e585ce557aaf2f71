package prometheus

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func TestRegistered(t *testing.T) {
	for _, c := range []struct {
		typ  string
		p    Config
		want any
	}{
		{TypeExposition, Config{Listen: "127.0.0.1:9273"}, (*Exposition)(nil)},
		{TypeRemoteWrite, Config{URL: "http://127.0.0.1:9090/api/v1/write"}, (*RemoteWrite)(nil)},
	} {
		p := c.p
		s, err := sink.Build(c.typ, plugin.BlockOf(map[string]any{"prometheus": p}), sink.Deps{Name: "x"})
		if err != nil {
			t.Fatalf("Build(%s): %v", c.typ, err)
		}
		switch c.want.(type) {
		case *Exposition:
			e, ok := s.(*Exposition)
			if !ok || e.path != DefaultPath || e.Addr() != "" {
				t.Errorf("Build(%s) = %T (path %q), want an unstarted *Exposition at %s", c.typ, s, e.path, DefaultPath)
			}
		case *RemoteWrite:
			w, ok := s.(*RemoteWrite)
			if !ok || w.timeout != DefaultRemoteWriteTimeout {
				t.Errorf("Build(%s) = %T, want *RemoteWrite with the default timeout", c.typ, s)
			}
		}
	}
}

// TestBadConfig: every mistake is an error at the key, with a message that
// says what to do, and no secret in it.
func TestBadConfig(t *testing.T) {
	const secret = "hunter2-secret"
	d := func(x time.Duration) plugin.Duration { return plugin.Duration(x) }
	for _, c := range []struct {
		typ   string
		p     *Config
		field string
		msg   string
	}{
		{TypeExposition, nil, "prometheus", "prometheus.listen"},
		{TypeExposition, &Config{}, "prometheus.listen", "empty"},
		{TypeExposition, &Config{Listen: "9273"}, "prometheus.listen", "host:port"},
		{TypeExposition, &Config{Listen: ":http"}, "prometheus.listen", "0 to 65535"},
		{TypeExposition, &Config{Listen: "127.0.0.1:9273", Path: "metrics"}, "prometheus.path", "not a URL path"},
		{TypeExposition, &Config{Listen: "127.0.0.1:9273", StaleAfter: d(-time.Second)}, "prometheus.stale_after", "negative"},
		{TypeExposition, &Config{Listen: ":9273", URL: "http://x"}, "prometheus.url", "prometheus_remote_write"},
		{TypeExposition, &Config{Listen: ":9273", Password: secret}, "prometheus.password", "prometheus_remote_write"},
		{TypeRemoteWrite, nil, "prometheus", "prometheus.url"},
		{TypeRemoteWrite, &Config{}, "prometheus.url", "empty"},
		{TypeRemoteWrite, &Config{URL: "ftp://x/y"}, "prometheus.url", "scheme"},
		{TypeRemoteWrite, &Config{URL: "http:///api/v1/write"}, "prometheus.url", "no host"},
		{TypeRemoteWrite, &Config{URL: "http://u:" + secret + "@x/api/v1/write"}, "prometheus.url", "credentials"},
		{TypeRemoteWrite, &Config{URL: "http://x\x7f/" + secret}, "prometheus.url", "not a URL"},
		{TypeRemoteWrite, &Config{URL: "http://x", Timeout: d(-1)}, "prometheus.timeout", "negative"},
		{TypeRemoteWrite, &Config{URL: "http://x", Password: secret}, "prometheus.username", "basic auth needs both"},
		{TypeRemoteWrite, &Config{URL: "http://x", Username: "u", BearerToken: secret}, "prometheus.bearer_token", "choose"},
		{TypeRemoteWrite, &Config{URL: "http://x", Headers: map[string]string{"Authorization": "Bearer " + secret}}, "prometheus.headers.Authorization", "bearer_token"},
		{TypeRemoteWrite, &Config{URL: "http://x", Headers: map[string]string{"content-type": "x"}}, "prometheus.headers.content-type", "set by the sink"},
		{TypeRemoteWrite, &Config{URL: "http://x", Headers: map[string]string{"X-Key": secret + "\r\nEvil: 1"}}, "prometheus.headers.X-Key", "line break"},
		{TypeRemoteWrite, &Config{URL: "http://x", Headers: map[string]string{"Bad Name": "v"}}, "prometheus.headers", "not a header name"},
		{TypeRemoteWrite, &Config{URL: "http://x", Listen: ":9273"}, "prometheus.listen", "sink type prometheus,"},
	} {
		_, err := sink.Build(c.typ, plugin.BlockOf(map[string]any{"prometheus": c.p}), sink.Deps{Name: "s"})
		var pe *plugin.Error
		if !errors.As(err, &pe) {
			t.Errorf("%s %+v: error %v, want a *plugin.Error", c.typ, c.p, err)
			continue
		}
		if pe.Key != c.field || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%s: got %s: %s; want key %s with %q", c.typ, pe.Key, pe.Msg, c.field, c.msg)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error quotes a secret: %v", c.typ, err)
		}
	}
}
