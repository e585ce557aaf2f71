package prometheus

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink"
)

func TestRegistered(t *testing.T) {
	for _, c := range []struct {
		typ  string
		p    config.Prometheus
		want any
	}{
		{TypeExposition, config.Prometheus{Listen: ":9273"}, (*Exposition)(nil)},
		{TypeRemoteWrite, config.Prometheus{URL: "http://127.0.0.1:9090/api/v1/write"}, (*RemoteWrite)(nil)},
	} {
		p := c.p
		s, err := sink.Build(config.Sink{Name: "x", Type: c.typ, Prometheus: &p}, sink.Deps{})
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

// TestBadConfig: every mistake is a *config.FieldError naming the key, with
// a message that says what to do, and no secret in it.
func TestBadConfig(t *testing.T) {
	const secret = "hunter2-secret"
	d := func(x time.Duration) config.Duration { return config.Duration(x) }
	for _, c := range []struct {
		typ   string
		p     *config.Prometheus
		field string
		msg   string
	}{
		{TypeExposition, nil, "prometheus", "prometheus.listen"},
		{TypeExposition, &config.Prometheus{}, "prometheus.listen", "empty"},
		{TypeExposition, &config.Prometheus{Listen: "9273"}, "prometheus.listen", "host:port"},
		{TypeExposition, &config.Prometheus{Listen: ":http"}, "prometheus.listen", "0 to 65535"},
		{TypeExposition, &config.Prometheus{Listen: ":9273", Path: "metrics"}, "prometheus.path", "not a URL path"},
		{TypeExposition, &config.Prometheus{Listen: ":9273", StaleAfter: d(-time.Second)}, "prometheus.stale_after", "negative"},
		{TypeExposition, &config.Prometheus{Listen: ":9273", URL: "http://x"}, "prometheus.url", "prometheus_remote_write"},
		{TypeExposition, &config.Prometheus{Listen: ":9273", Password: secret}, "prometheus.password", "prometheus_remote_write"},
		{TypeRemoteWrite, nil, "prometheus", "prometheus.url"},
		{TypeRemoteWrite, &config.Prometheus{}, "prometheus.url", "empty"},
		{TypeRemoteWrite, &config.Prometheus{URL: "ftp://x/y"}, "prometheus.url", "scheme"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http:///api/v1/write"}, "prometheus.url", "no host"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://u:" + secret + "@x/api/v1/write"}, "prometheus.url", "credentials"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x\x7f/" + secret}, "prometheus.url", "not a URL"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Timeout: d(-1)}, "prometheus.timeout", "negative"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Password: secret}, "prometheus.username", "basic auth needs both"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Username: "u", BearerToken: secret}, "prometheus.bearer_token", "choose"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Headers: map[string]string{"Authorization": "Bearer " + secret}}, "prometheus.headers.Authorization", "bearer_token"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Headers: map[string]string{"content-type": "x"}}, "prometheus.headers.content-type", "set by the sink"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Headers: map[string]string{"X-Key": secret + "\r\nEvil: 1"}}, "prometheus.headers.X-Key", "line break"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Headers: map[string]string{"Bad Name": "v"}}, "prometheus.headers", "not a header name"},
		{TypeRemoteWrite, &config.Prometheus{URL: "http://x", Listen: ":9273"}, "prometheus.listen", "sink type prometheus,"},
	} {
		_, err := sink.Build(config.Sink{Name: "s", Type: c.typ, Prometheus: c.p}, sink.Deps{})
		var fe *config.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s %+v: error %v, want a *config.FieldError", c.typ, c.p, err)
			continue
		}
		if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: got %s: %s; want field %s with %q", c.typ, fe.Field, fe.Msg, c.field, c.msg)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error quotes a secret: %v", c.typ, err)
		}
	}
}
