package enrich

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsShareRegistry: two caches on one registry share their series
// instead of panicking on the second registration.
func TestMetricsShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := newMetrics(reg), newMetrics(reg)
	a.lookups[srcKV].Inc()
	b.lookups[srcKV].Inc()
	a.collections[triggerInline][resultOK].Inc()
	if got := testutil.ToFloat64(b.lookups[srcKV]); got != 2 {
		t.Fatalf("kv lookups %v, want 2 (shared)", got)
	}
	if got := testutil.ToFloat64(b.collections[triggerInline][resultOK]); got != 1 {
		t.Fatalf("inline collections %v, want 1 (shared)", got)
	}
}
