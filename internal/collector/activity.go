package collector

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/rate"
)

// Activity counts checks and groups: the summary line's and Stats' figures.
type Activity struct {
	OK, Failed        atomic.Uint64 // checks by outcome
	Published, Errors atomic.Uint64 // groups published, groups that failed to publish

	mu   sync.Mutex
	busy []busyInterface // the busiest interfaces of the round, busiest first
}

// busyInterface is an interface's traffic in one poll (bits/s).
type busyInterface struct {
	resource, name string
	in, out        float64
}

// topBusy is how many interfaces the summary line names.
const topBusy = 3

// NoteBusy keeps the set's interfaces that carry the most traffic
// (bits_in_rate or bits_out_rate, with rates on) among the round's busiest.
func (a *Activity) NoteBusy(set *metric.GroupSet) {
	for _, g := range set.Groups {
		if g.Type != "interface" {
			continue
		}
		in, okIn := g.Metric("bits_in" + rate.Suffix)
		out, okOut := g.Metric("bits_out" + rate.Suffix)
		if !okIn && !okOut {
			continue
		}
		b := busyInterface{name: g.Dimension("interface_name"), in: in.Value.Float64(), out: out.Value.Float64()}
		if g.Resource != nil {
			b.resource = g.Resource.ID
		}
		a.mu.Lock()
		a.busy = topBusiest(a.busy, b)
		a.mu.Unlock()
	}
}

// topBusiest inserts b into list (busiest first, at most topBusy), ranked
// by its larger direction; an interface already listed is replaced.
func topBusiest(list []busyInterface, b busyInterface) []busyInterface {
	load := func(x busyInterface) float64 { return max(x.in, x.out) }
	if i := slices.IndexFunc(list, func(x busyInterface) bool { return x.resource == b.resource && x.name == b.name }); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == topBusy && load(b) <= load(list[topBusy-1]) {
		return list
	}
	i, _ := slices.BinarySearchFunc(list, b, func(x, y busyInterface) int { return cmp.Compare(load(y), load(x)) })
	list = slices.Insert(list, i, b)
	if len(list) > topBusy {
		list = list[:topBusy]
	}
	return list
}

// TakeBusiest returns the round's busiest interfaces as text and starts a
// new round: "sw1 Gi1/0/49 in 812 Mbit/s out 300 Mbit/s, ...".
func (a *Activity) TakeBusiest() string {
	a.mu.Lock()
	list := a.busy
	a.busy = nil
	a.mu.Unlock()
	parts := make([]string, len(list))
	for i, b := range list {
		parts[i] = fmt.Sprintf("%s %s in %s out %s", b.resource, b.name, bitRate(b.in), bitRate(b.out))
	}
	return strings.Join(parts, ", ")
}

// bitRate formats bits/s with an SI prefix: 812 Mbit/s, 1.25 Gbit/s.
func bitRate(v float64) string {
	units := []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	prec := 2
	if v >= 100 {
		prec = 0
	} else if v >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + units[i]
}

// Record counts one check's set: its status (the last group's), what was
// published of it and what was not.
func (a *Activity) Record(set *metric.GroupSet, published int, pubErr error) {
	status := metric.StatusInternalFailure
	if n := len(set.Groups); n > 0 {
		if m, ok := set.Groups[n-1].Metric("polling_status"); ok {
			status = int(m.Value.Int64())
		}
	}
	if status == metric.StatusSuccess {
		a.OK.Add(1)
	} else {
		a.Failed.Add(1)
	}
	a.RecordPublished(len(set.Groups), published, pubErr)
}

// RecordPublished counts groups a stream emitted: published of total.
func (a *Activity) RecordPublished(total, published int, pubErr error) {
	a.Published.Add(uint64(published))
	if pubErr != nil {
		a.Errors.Add(uint64(total - published))
	}
}
