package node

import (
	"errors"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

func statusSet(status int64, extra int) *metric.GroupSet {
	set := &metric.GroupSet{}
	for i := 0; i < extra; i++ {
		set.Groups = append(set.Groups, &metric.Group{Type: "interface"})
	}
	set.Groups = append(set.Groups, &metric.Group{Type: "status", Metrics: []metric.Metric{{Name: "polling_status", Value: metric.Int(status)}}})
	return set
}

func TestActivityCounts(t *testing.T) {
	var a activity
	a.record(statusSet(metric.StatusSuccess, 3), 4, nil)
	a.record(statusSet(metric.StatusTimeout, 0), 1, nil)
	a.record(statusSet(metric.StatusSuccess, 2), 1, errors.New("bus down"))
	a.record(&metric.GroupSet{}, 0, nil) // no status group: counted as failed
	if ok, failed := a.ok.Load(), a.failed.Load(); ok != 2 || failed != 2 {
		t.Errorf("ok %d failed %d, want 2 and 2", ok, failed)
	}
	if p, e := a.published.Load(), a.errors.Load(); p != 6 || e != 2 {
		t.Errorf("published %d errors %d, want 6 and 2", p, e)
	}
}
