package cluster

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsShareRegistry: two members on one registry share their series
// instead of panicking on the second registration.
func TestMetricsShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := newMetrics(reg), newMetrics(reg)
	a.leaderChanges.Inc()
	b.leaderChanges.Inc()
	if got := testutil.ToFloat64(a.leaderChanges); got != 2 {
		t.Fatalf("leader changes %v, want 2 (shared)", got)
	}
}
