package metric

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/testutil/heapsize"
)

// benchSwitch is a resource as the bench harness's CSV inventory makes
// one (the simulator's device names and addresses).
func benchSwitch(i int) *resource.Resource {
	return &resource.Resource{Site: "bench", Class: "network", Subclass: "switch", Type: "cisco",
		ID: fmt.Sprintf("switch48-%05d", i), Endpoint: fmt.Sprintf("127.0.%d.%d:%d", i/250, i%250+1, 20000+i),
		Metadata:          map[string]string{"snmp_credential": "sim", "model": "WS-C2960X-48TS-L", "_resource_ttl": "604800"},
		CreationTimestamp: 1765152000.25, Plugin: "csv"}
}

// BenchmarkEncodedResourceMemory reports the heap a check's encoded
// resource keeps (heap-B/check), as poll.Check holds one per check.
//
//	go test -run '^$' -bench EncodedResourceMemory -benchtime 1x ./internal/metric/
func BenchmarkEncodedResourceMemory(b *testing.B) {
	const checks = 5000
	res := make([]*resource.Resource, checks)
	for i := range res {
		res[i] = benchSwitch(i)
	}
	for b.Loop() {
		b.ReportMetric(heapsize.PerItem(checks, func(i int) *EncodedResource { return EncodeResource(res[i]) }), "heap-B/check")
		b.ReportMetric(float64(len(EncodeResource(res[0]).JSON)), "json-B")
	}
}

// TestEncodeResourceExact: the encoded resource is what AppendJSON writes
// inside a group, in an array of its own length (what a check keeps for
// its life: no spare capacity from the appends that built it).
func TestEncodeResourceExact(t *testing.T) {
	for _, r := range []*resource.Resource{benchSwitch(1), benchSwitch(12345), {Site: "s", ID: "x"}, {}} {
		e := EncodeResource(r)
		if want := appendResource(nil, r); !bytes.Equal(e.JSON, want) || e.Resource != r {
			t.Errorf("EncodeResource = %s, want %s", e.JSON, want)
		}
		if cap(e.JSON) != len(e.JSON) {
			t.Errorf("%d bytes of JSON in an array of %d", len(e.JSON), cap(e.JSON))
		}
	}
	if EncodeResource(nil) != nil {
		t.Error("EncodeResource(nil) is not nil")
	}
}
