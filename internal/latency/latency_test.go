package latency

import (
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	var h Hist
	if p := h.Quantiles(0.5, 0.99); p[0] != 0 || p[1] != 0 {
		t.Fatalf("empty histogram quantiles = %v, want zeros", p)
	}
	for i := 1; i <= 10000; i++ {
		h.Observe(time.Duration(i) * time.Microsecond)
	}
	h.Observe(-time.Second) // clamped to 0, not a panic
	q := h.Quantiles(0.5, 0.99)
	for i, want := range []time.Duration{5 * time.Millisecond, 9900 * time.Microsecond} {
		if d := float64(q[i]-want) / float64(want); d > 0.04 || d < -0.04 {
			t.Errorf("quantile %d = %v, want %v within 4%%", i, q[i], want)
		}
	}
	if h.Count() != 10001 {
		t.Fatalf("count = %d, want 10001", h.Count())
	}
	for _, v := range []uint64{0, 1, 15, 16, 17, 1000, 1 << 40, 1<<63 - 1, 1<<64 - 1} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d out of range", v, i)
		}
		if m := histMid(i); v >= 16 && (float64(m) < float64(v)*0.96 || float64(m) > float64(v)*1.04) {
			t.Errorf("histMid(histIndex(%d)) = %d, more than 4%% off", v, m)
		}
	}
}
