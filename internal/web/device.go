package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/checkstate"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// CheckView is one check of a device, as the device page shows it.
type CheckView struct {
	Plugin     string        `json:"plugin"`
	Node       string        `json:"node"`
	Interval   float64       `json:"interval_seconds"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end"`
	Status     int           `json:"status"`
	StatusName string        `json:"status_name"`
	Reason     string        `json:"reason,omitempty"`
	NextDue    *time.Time    `json:"next_due"`
	History    []HistoryView `json:"history"`
}

// HistoryView is one past run or, for a check with an interval under
// checkstate.SampleEvery, the runs of up to that long: the last one's end,
// the last failure's status (0: none failed), the longest duration.
type HistoryView struct {
	End      time.Time `json:"end"`
	Status   int       `json:"status"`
	Duration float64   `json:"duration_seconds"`
	Runs     int       `json:"runs"`
	Failed   int       `json:"failed"`
}

// GroupView is one metrics group without its resource (the device's).
type GroupView struct {
	Type       string                  `json:"type"`
	Time       float64                 `json:"time"`
	Dimensions map[string]string       `json:"dimensions"`
	Metrics    map[string]metric.Value `json:"metrics"`
}

// deviceAnswer is one node's answer about one device.
type deviceAnswer struct {
	Node        string      `json:"node"`
	Checks      []CheckView `json:"checks"`
	Groups      []GroupView `json:"groups"`
	GroupsError string      `json:"groups_error,omitempty"`
	Error       string      `json:"error,omitempty"`
}

// DeviceDetail is GET /api/v1/devices/{key}.
type DeviceDetail struct {
	Resource *resource.Resource `json:"resource"`
	Key      string             `json:"key"`
	Owner    string             `json:"owner"`
	Status   int                `json:"status"`
	// StatusName is the worst last status of its checks.
	StatusName string      `json:"status_name"`
	Checks     []CheckView `json:"checks"`
	// Groups are the latest groups of every check, by group type (the
	// status groups left out: Checks has them).
	Groups      map[string][]GroupView `json:"groups"`
	GroupsError []string               `json:"groups_errors,omitempty"`
	Peers       PeerReport             `json:"peers"`
}

// localDevice answers a device request: this node's checks of the
// resource, and the groups its last polls published, read back from the
// stream.
func (w *Web) localDevice(ctx context.Context, key string) deviceAnswer {
	out := deviceAnswer{Node: w.opts.NodeID, Checks: []CheckView{}, Groups: []GroupView{}}
	if w.opts.Checks == nil || key == "" {
		return out
	}
	var errs []error
	for _, c := range w.opts.Checks.Checks(key) {
		out.Checks = append(out.Checks, checkView(w.opts.NodeID, c))
		if len(c.Last.Messages) == 0 {
			// Published, but the bus acknowledged it too late to say where
			// (buffered, or still on its way): nothing to read back.
			errs = append(errs, fmt.Errorf("%s: the bus has not told where its last run's groups are (buffered or acknowledged late); they show after its next run", c.Last.Plugin))
			continue
		}
		for _, ref := range c.Last.Messages {
			groups, err := w.groupsAt(ctx, ref, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.Last.Plugin, err))
				continue
			}
			out.Groups = append(out.Groups, groups...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		out.GroupsError = err.Error()
	}
	return out
}

func checkView(node string, c checkstate.Check) CheckView {
	v := CheckView{Plugin: c.Last.Plugin, Node: node, Interval: c.Last.Interval.Seconds(), Start: c.Last.Start, End: c.Last.End,
		Status: c.Last.Status, StatusName: StatusName(c.Last.Status), Reason: c.Last.Reason, History: make([]HistoryView, len(c.History))}
	if !c.Last.NextDue.IsZero() {
		t := c.Last.NextDue
		v.NextDue = &t
	}
	for i, p := range c.History {
		v.History[i] = HistoryView{End: p.End, Status: p.Status, Duration: p.Duration.Seconds(), Runs: p.Runs, Failed: p.Failed}
	}
	return v
}

// groupsAt decodes the message at ref and returns the groups of resource
// key in it (a message can hold other resources' groups: small ones are
// joined), status groups left out.
func (w *Web) groupsAt(ctx context.Context, ref checkstate.MessageRef, key string) ([]GroupView, error) {
	if w.opts.Messages == nil {
		return nil, errors.New("no bus to read messages from")
	}
	data, err := w.opts.Messages.Message(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("read message %d of stream %s: %w", ref.Seq, ref.Stream, err)
	}
	groups, err := wire.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode message %d of stream %s: %w", ref.Seq, ref.Stream, err)
	}
	var out []GroupView
	for _, g := range groups {
		if g.Resource == nil || g.Resource.Key() != key || g.Type == "status" {
			continue
		}
		v := GroupView{Type: g.Type, Time: g.CreationTimestamp, Dimensions: make(map[string]string, len(g.Dimensions)),
			Metrics: make(map[string]metric.Value, len(g.Metrics))}
		for _, d := range g.Dimensions {
			v.Dimensions[d.Name] = d.Value
		}
		for _, m := range g.Metrics {
			v.Metrics[m.Name] = m.Value
		}
		out = append(out, v)
	}
	return out, nil
}

// handleDevice serves GET /api/v1/devices/{key}.
func (w *Web) handleDevice(rw http.ResponseWriter, r *http.Request) {
	key, err := url.PathUnescape(r.PathValue("key"))
	if err != nil {
		writeError(rw, http.StatusBadRequest, "key: "+err.Error())
		return
	}
	res := w.opts.Inventory.Get(key)
	if res == nil {
		writeError(rw, http.StatusNotFound, fmt.Sprintf("no resource %q in the inventory (a key is site|class|subclass|type|id)", key))
		return
	}
	out := DeviceDetail{Resource: res, Key: key, Owner: newOwners(w.opts.Membership.Members()).of(res),
		Status: statusUnknown, Checks: []CheckView{}, Groups: map[string][]GroupView{}}
	members := w.liveMembers(map[string]bool{res.Site: true})
	var answers []deviceAnswer
	var g gathered
	if w.opts.Conn == nil {
		answers = append(answers, w.localDevice(r.Context(), key))
	} else if len(members) > 0 {
		expect := make([]string, len(members))
		for i, m := range members {
			expect[i] = m.ID
		}
		raw, missing, err := w.gather(r.Context(), opDevice, []string{res.Site}, request{Key: key}, expect)
		if err != nil {
			g.errors = append(g.errors, err.Error())
		}
		g.missing = missing
		for _, a := range raw {
			var da deviceAnswer
			if err := json.Unmarshal(a.Data, &da); err != nil {
				g.errors = append(g.errors, a.Node+": "+err.Error())
				continue
			}
			if da.Error != "" {
				g.errors = append(g.errors, a.Node+": "+da.Error)
			}
			answers = append(answers, da)
		}
	}
	mergeDevice(&out, answers)
	out.Peers = g.report(len(members))
	writeJSON(rw, out)
}

// mergeDevice keeps, per plugin, the latest check any node reported (after
// a handover the previous owner still has older ones) and the groups of
// the nodes whose checks were kept.
func mergeDevice(out *DeviceDetail, answers []deviceAnswer) {
	latest := map[string]CheckView{}
	for _, a := range answers {
		for _, c := range a.Checks {
			if old, ok := latest[c.Plugin]; !ok || c.End.After(old.End) {
				latest[c.Plugin] = c
			}
		}
	}
	keepNode := map[string]bool{}
	for _, name := range sortedKeys(latest) {
		c := latest[name]
		out.Checks = append(out.Checks, c)
		keepNode[c.Node] = true
		if out.Status == statusUnknown || (out.Status == metric.StatusSuccess && c.Status != metric.StatusSuccess) {
			out.Status = c.Status
		}
	}
	out.StatusName = StatusName(out.Status)
	for _, a := range answers {
		if !keepNode[a.Node] {
			continue
		}
		for _, g := range a.Groups {
			out.Groups[g.Type] = append(out.Groups[g.Type], g)
		}
		if a.GroupsError != "" {
			out.GroupsError = append(out.GroupsError, a.Node+": "+a.GroupsError)
		}
	}
	for t := range out.Groups {
		slices.SortStableFunc(out.Groups[t], func(a, b GroupView) int { return compareDims(a.Dimensions, b.Dimensions) })
	}
}

// compareDims orders groups of one type by their dimensions' values, in
// name order (interface_name first for interfaces: natural enough).
func compareDims(a, b map[string]string) int {
	for _, k := range []string{"interface_name", "peer_address", "local_interface", "cpu_name", "cpu_no"} {
		if c := naturalCompare(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

// naturalCompare compares strings with digit runs as numbers
// ("Gi0/2" < "Gi0/10").
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			i, j := digits(a), digits(b)
			na, nb := trimZeros(a[:i]), trimZeros(b[:j])
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// streamMessages reads messages by sequence (direct get when the stream
// allows it), keeping stream handles.
type streamMessages struct {
	js      jetstream.JetStream
	mu      sync.Mutex
	streams map[string]jetstream.Stream
}

func (s *streamMessages) Message(ctx context.Context, ref checkstate.MessageRef) ([]byte, error) {
	s.mu.Lock()
	st := s.streams[ref.Stream]
	s.mu.Unlock()
	if st == nil {
		var err error
		if st, err = s.js.Stream(ctx, ref.Stream); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.streams == nil {
			s.streams = map[string]jetstream.Stream{}
		}
		s.streams[ref.Stream] = st
		s.mu.Unlock()
	}
	m, err := st.GetMsg(ctx, ref.Seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, errors.New("no longer in the stream (retention)")
		}
		return nil, err
	}
	return m.Data, nil
}
