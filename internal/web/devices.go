package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Page sizes of the device list.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// statusUnknown is a device without a record on any node: not polled yet,
// no live poller in its site, or its owner did not answer.
const statusUnknown = -1

// Device is one line of the device list.
type Device struct {
	Key        string     `json:"key"`
	ID         string     `json:"resource_id"`
	Site       string     `json:"resource_site"`
	Class      string     `json:"resource_class"`
	Subclass   string     `json:"resource_subclass"`
	Type       string     `json:"resource_type"`
	Endpoint   string     `json:"resource_endpoint"`
	Owner      string     `json:"owner"`
	Status     int        `json:"status"`
	StatusName string     `json:"status_name"`
	Plugin     string     `json:"failing_plugin,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	LastPoll   *time.Time `json:"last_poll"`
	NextDue    *time.Time `json:"next_due"`
	Checks     int        `json:"checks"`
}

// DeviceList is a page of the device list.
type DeviceList struct {
	Total   int      `json:"total"` // devices matching, over all pages
	Offset  int      `json:"offset"`
	Limit   int      `json:"limit"`
	Sort    string   `json:"sort"`
	Order   string   `json:"order"`
	Devices []Device `json:"devices"`
	// Counts are the matching devices by status name, when the states of
	// all of them were gathered (sorting or filtering by a state).
	Counts map[string]int `json:"counts,omitempty"`
	Peers  PeerReport     `json:"peers"`
}

// PeerReport says which nodes answered a page's questions.
type PeerReport struct {
	Asked    int      `json:"asked"`
	Missing  []string `json:"missing,omitempty"` // did not answer in time: their devices show as unknown
	Errors   []string `json:"errors,omitempty"`
	Complete bool     `json:"complete"`
}

// sortKeys of the device list: those after "owner" need every device's state.
var sortKeys = []string{"id", "site", "type", "class", "endpoint", "owner", "status", "last_poll", "next_due"}

func needsStates(sortKey string) bool {
	return sortKey == "status" || sortKey == "last_poll" || sortKey == "next_due"
}

// StatusName names a device status: the polling status names, and
// "unknown" for a device no node reported.
func StatusName(s int) string {
	if s == statusUnknown {
		return "unknown"
	}
	return metric.StatusName(s)
}

// statusMatcher is the list's status filter: ok, failing, unknown or a
// polling status's name or number, comma-separated.
func parseStatusFilter(s string) (func(int) bool, error) {
	if s == "" {
		return nil, nil
	}
	var fns []func(int) bool
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "ok", "success":
			fns = append(fns, func(x int) bool { return x == metric.StatusSuccess })
		case "failing":
			fns = append(fns, func(x int) bool { return x > metric.StatusSuccess })
		case "unknown":
			fns = append(fns, func(x int) bool { return x == statusUnknown })
		default:
			n, err := strconv.Atoi(part)
			if err != nil {
				n = -2
				for i := 0; i <= 16; i++ {
					if metric.StatusName(i) == part {
						n = i
					}
				}
				if n == -2 {
					return nil, fmt.Errorf("status %q: want ok, failing, unknown, or a polling status name or number", part)
				}
			}
			fns = append(fns, func(x int) bool { return x == n })
		}
	}
	return func(x int) bool {
		for _, f := range fns {
			if f(x) {
				return true
			}
		}
		return false
	}, nil
}

// matchSearch reports whether the free-text search q (lower case) occurs
// in the resource's id, endpoint, type, site or a metadata value.
func matchSearch(r *resource.Resource, q string) bool {
	if q == "" {
		return true
	}
	if containsFold(r.ID, q) || containsFold(r.Endpoint, q) || containsFold(r.Type, q) || containsFold(r.Site, q) {
		return true
	}
	for _, v := range r.Metadata {
		if containsFold(v, q) {
			return true
		}
	}
	return false
}

func containsFold(s, lowerSub string) bool {
	return strings.Contains(strings.ToLower(s), lowerSub)
}

// listQuery is a parsed device list request.
type listQuery struct {
	filter        *resource.Filter
	search        string
	status        func(int) bool
	sort, order   string
	offset, limit int
}

func parseListQuery(r *http.Request) (*listQuery, error) {
	q := r.URL.Query()
	lq := &listQuery{sort: "id", order: "asc", limit: DefaultLimit}
	if f := q.Get("filter"); strings.TrimSpace(f) != "" {
		flt, err := resource.ParseFilter(f)
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		lq.filter = flt
	}
	lq.search = strings.ToLower(strings.TrimSpace(q.Get("q")))
	st, err := parseStatusFilter(q.Get("status"))
	if err != nil {
		return nil, err
	}
	lq.status = st
	if s := q.Get("sort"); s != "" {
		if !slices.Contains(sortKeys, s) {
			return nil, fmt.Errorf("sort %q: want one of %s", s, strings.Join(sortKeys, ", "))
		}
		lq.sort = s
	}
	if o := q.Get("order"); o != "" {
		if o != "asc" && o != "desc" {
			return nil, fmt.Errorf("order %q: want asc or desc", o)
		}
		lq.order = o
	}
	if lq.offset, err = intParam(q.Get("offset"), 0, 0, 1<<31); err != nil {
		return nil, fmt.Errorf("offset: %w", err)
	}
	if lq.limit, err = intParam(q.Get("limit"), DefaultLimit, 1, MaxLimit); err != nil {
		return nil, fmt.Errorf("limit: %w", err)
	}
	return lq, nil
}

func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	return n, nil
}

// handleDevices serves GET /api/v1/devices.
func (w *Web) handleDevices(rw http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r)
	if err != nil {
		writeError(rw, http.StatusBadRequest, err.Error())
		return
	}
	snap := w.opts.Inventory.Snapshot()
	matched := snap[:0:0]
	for _, res := range snap {
		if (lq.filter == nil || lq.filter.Match(res)) && matchSearch(res, lq.search) {
			matched = append(matched, res)
		}
	}
	own := newOwners(w.opts.Membership.Members())
	devs := make([]Device, len(matched))
	for i, res := range matched {
		devs[i] = deviceOf(res, own.of(res))
	}
	out := DeviceList{Offset: lq.offset, Limit: lq.limit, Sort: lq.sort, Order: lq.order}
	var g gathered
	allStates := needsStates(lq.sort) || lq.status != nil
	if allStates {
		g = w.gatherStates(r.Context(), sitesOf(matched), nil)
		for i := range devs {
			applyState(&devs[i], g.states)
		}
		if lq.status != nil {
			kept := devs[:0]
			for _, d := range devs {
				if lq.status(d.Status) {
					kept = append(kept, d)
				}
			}
			devs = kept
		}
		out.Counts = map[string]int{}
		for _, d := range devs {
			out.Counts[d.StatusName]++
		}
	}
	sortDevices(devs, lq.sort, lq.order == "desc")
	out.Total = len(devs)
	page := devs[min(lq.offset, len(devs)):min(lq.offset+lq.limit, len(devs))]
	if !allStates && len(page) > 0 {
		keys := make([]string, len(page))
		pageRes := make([]*resource.Resource, 0, len(page))
		for i, d := range page {
			keys[i] = d.Key
			if res := w.opts.Inventory.Get(d.Key); res != nil {
				pageRes = append(pageRes, res)
			}
		}
		g = w.gatherStates(r.Context(), sitesOf(pageRes), keys)
		for i := range page {
			applyState(&page[i], g.states)
		}
	}
	out.Devices = page
	out.Peers = g.report(len(w.liveMembers(nil)))
	writeJSON(rw, out)
}

func (g *gathered) report(asked int) PeerReport {
	return PeerReport{Asked: asked, Missing: g.missing, Errors: g.errors, Complete: len(g.missing) == 0 && len(g.errors) == 0}
}

func deviceOf(res *resource.Resource, owner string) Device {
	return Device{Key: res.Key(), ID: res.ID, Site: res.Site, Class: res.Class, Subclass: res.Subclass, Type: res.Type,
		Endpoint: res.Endpoint, Owner: owner, Status: statusUnknown, StatusName: StatusName(statusUnknown)}
}

func applyState(d *Device, states map[string]stateLine) {
	l, ok := states[d.Key]
	if !ok {
		return
	}
	d.Status, d.StatusName, d.Plugin, d.Reason, d.Checks = l.Status, StatusName(l.Status), l.Plugin, l.Reason, l.Checks
	if l.LastEnd != 0 {
		t := fromMs(l.LastEnd)
		d.LastPoll = &t
	}
	if l.NextDue != 0 {
		t := fromMs(l.NextDue)
		d.NextDue = &t
	}
}

// sortDevices sorts by key, then by resource key so that pages are stable.
// Unknown states sort after known ones whatever the order.
func sortDevices(devs []Device, key string, desc bool) {
	field := func(a, b *Device) int {
		switch key {
		case "site":
			return cmp.Compare(a.Site, b.Site)
		case "type":
			return cmp.Compare(a.Type, b.Type)
		case "class":
			return cmp.Compare(a.Class+"|"+a.Subclass, b.Class+"|"+b.Subclass)
		case "endpoint":
			return cmp.Compare(a.Endpoint, b.Endpoint)
		case "owner":
			return cmp.Compare(a.Owner, b.Owner)
		case "status":
			return cmp.Compare(a.Status, b.Status)
		case "last_poll":
			return cmpTime(a.LastPoll, b.LastPoll)
		case "next_due":
			return cmpTime(a.NextDue, b.NextDue)
		}
		return cmp.Compare(a.ID, b.ID)
	}
	slices.SortStableFunc(devs, func(a, b Device) int {
		if needsStates(key) {
			au, bu := unknownFor(key, &a), unknownFor(key, &b)
			if au != bu {
				if au {
					return 1
				}
				return -1
			}
		}
		c := field(&a, &b)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
}

func unknownFor(key string, d *Device) bool {
	switch key {
	case "status":
		return d.Status == statusUnknown
	case "last_poll":
		return d.LastPoll == nil
	case "next_due":
		return d.NextDue == nil
	}
	return false
}

func cmpTime(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}
