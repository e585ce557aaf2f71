package rate

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsShareRegistry: two processors on one registry share their
// series instead of panicking on the second registration.
func TestMetricsShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := newMetrics(reg), newMetrics(reg)
	a.flushPuts.Inc()
	b.flushPuts.Inc()
	a.outcomes[0].Inc()
	if got := testutil.ToFloat64(b.flushPuts); got != 2 {
		t.Fatalf("flush puts %v, want 2 (shared)", got)
	}
	if got := testutil.ToFloat64(b.outcomes[0]); got != 1 {
		t.Fatalf("outcome %v, want 1 (shared)", got)
	}
}
