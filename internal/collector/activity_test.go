package collector

import (
	"errors"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// The summary line names the round's busiest interfaces (by bits/s in
// either direction), each once, and starts over every round.
func TestBusiestInterfaces(t *testing.T) {
	iface := func(dev, name string, in, out float64) *metric.Group {
		return &metric.Group{Type: "interface", Resource: &resource.Resource{ID: dev},
			Dimensions: []metric.Dimension{{Name: "interface_name", Value: name}},
			Metrics: []metric.Metric{
				{Name: "bits_in_rate", Value: metric.Float(in), Type: metric.Gauge},
				{Name: "bits_out_rate", Value: metric.Float(out), Type: metric.Gauge},
			}}
	}
	var a Activity
	a.NoteBusy(&metric.GroupSet{Groups: []*metric.Group{
		iface("sw1", "Gi1/0/1", 5e6, 1e6), iface("sw1", "Gi1/0/49", 812e6, 300e6),
		{Type: "interface", Resource: &resource.Resource{ID: "sw1"}, Metrics: []metric.Metric{{Name: "bits_in", Value: metric.Int(1)}}}, // rates off
		{Type: "status"},
	}})
	a.NoteBusy(&metric.GroupSet{Groups: []*metric.Group{iface("r1", "xe-0/0/0", 2e8, 1.25e9), iface("r1", "xe-0/0/1", 10, 20)}})
	a.NoteBusy(&metric.GroupSet{Groups: []*metric.Group{iface("sw1", "Gi1/0/1", 7e6, 1e6)}}) // polled again: replaces
	want := "r1 xe-0/0/0 in 200 Mbit/s out 1.25 Gbit/s, sw1 Gi1/0/49 in 812 Mbit/s out 300 Mbit/s, sw1 Gi1/0/1 in 7.00 Mbit/s out 1.00 Mbit/s"
	if got := a.TakeBusiest(); got != want {
		t.Errorf("busiest\n%s\nwant\n%s", got, want)
	}
	if got := a.TakeBusiest(); got != "" {
		t.Errorf("a new round starts empty: %q", got)
	}
}

func statusSet(status int64, extra int) *metric.GroupSet {
	set := &metric.GroupSet{}
	for i := 0; i < extra; i++ {
		set.Groups = append(set.Groups, &metric.Group{Type: "interface"})
	}
	set.Groups = append(set.Groups, &metric.Group{Type: "status", Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(status)}}})
	return set
}

func TestActivityCounts(t *testing.T) {
	var a Activity
	a.Record(statusSet(metric.StatusSuccess, 3), 4, nil)
	a.Record(statusSet(metric.StatusTimeout, 0), 1, nil)
	a.Record(statusSet(metric.StatusSuccess, 2), 1, errors.New("bus down"))
	a.Record(&metric.GroupSet{}, 0, nil) // no status group: counted as failed
	if ok, failed := a.OK.Load(), a.Failed.Load(); ok != 2 || failed != 2 {
		t.Errorf("ok %d failed %d, want 2 and 2", ok, failed)
	}
	if p, e := a.Published.Load(), a.Errors.Load(); p != 6 || e != 2 {
		t.Errorf("published %d errors %d, want 6 and 2", p, e)
	}
}
