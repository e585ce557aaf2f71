package jsonpost

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPost(t *testing.T) {
	var got *http.Request
	var gotBody string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r, string(b)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "bad token\n")
	}))
	defer srv.Close()
	codes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "posts_total"}, []string{"code"})
	p := &Poster{What: "webhook", URL: srv.URL + "/hook", Client: &http.Client{Timeout: 5 * time.Second},
		Headers: map[string]string{"X-Team": "net", "Authorization": "ignored"}, Codes: codes}
	p.SetBearerToken("s3cret")

	if err := p.Post(context.Background(), []byte(`{"a":1}`), http.Header{"X-Panoptes-Event-Id": {"e1"}}); err != nil {
		t.Fatal(err)
	}
	if gotBody != `{"a":1}` || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Authorization") != "Bearer s3cret" ||
		got.Header.Get("X-Team") != "net" || got.Header.Get("X-Panoptes-Event-Id") != "e1" {
		t.Fatalf("request: body %q headers %v", gotBody, got.Header)
	}

	status = http.StatusUnauthorized
	err := p.Post(context.Background(), []byte(`{}`), nil)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized (check bearer_token): bad token") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v: want the status, the hint and the answer, never the token", err)
	}
	srv.Close()
	err = p.Post(context.Background(), []byte(`{}`), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "webhook: POST "+srv.URL+"/hook: ") || strings.Count(err.Error(), srv.URL) != 1 {
		t.Fatalf("error %v: want the URL once", err)
	}
	for code, want := range map[string]float64{"200": 1, "401": 1, "error": 1} {
		if n := testutil.ToFloat64(codes.WithLabelValues(code)); n != want {
			t.Errorf("posts{code=%s} = %v, want %v", code, n, want)
		}
	}
}
