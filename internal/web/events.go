package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/resource"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// EventsStream is the events stream the apps write (event.Stream), on
// subjects panoptes.events.<site>.<kind>.
const EventsStream = "PANOPTES_EVENTS"

// Event is one state change, as the apps publish it (internal/event's JSON).
type Event struct {
	ID       string             `json:"event_id"`
	Kind     string             `json:"kind"`
	Site     string             `json:"site"`
	Resource *resource.Resource `json:"resource"`
	Object   string             `json:"object"`
	OldState string             `json:"old_state"`
	NewState string             `json:"new_state"`
	Status   string             `json:"status"`
	Time     float64            `json:"time"`
	Labels   map[string]string  `json:"labels,omitempty"`
	Flaps    map[string]int     `json:"flaps,omitempty"`
}

// EventQuery selects events.
type EventQuery struct {
	Site, Kind string
	Resource   string // resource id
	Status     string // problem or ok
	Search     string // lower case, anywhere in the object, states or labels
	Since      time.Duration
	Limit      int
}

func (q *EventQuery) match(e *Event) bool {
	if q.Resource != "" && (e.Resource == nil || e.Resource.ID != q.Resource) {
		return false
	}
	if q.Status != "" && e.Status != q.Status {
		return false
	}
	if q.Search == "" {
		return true
	}
	if containsFold(e.Object, q.Search) || containsFold(e.NewState, q.Search) || containsFold(e.OldState, q.Search) ||
		containsFold(e.Kind, q.Search) || (e.Resource != nil && containsFold(e.Resource.ID, q.Search)) {
		return true
	}
	for _, v := range e.Labels {
		if containsFold(v, q.Search) {
			return true
		}
	}
	return false
}

// Events reads recent events.
type Events interface {
	// Recent returns the newest events matching q, newest first, at most
	// q.Limit.
	Recent(ctx context.Context, q EventQuery) ([]Event, error)
}

// ErrNoEvents means the events stream does not exist: no app writes events.
var ErrNoEvents = errors.New("no events stream: no events app runs on this bus")

// StreamEvents reads the events stream with an ordered consumer from
// q.Since ago (filtered by site and kind on the subject), keeping the last
// q.Limit matches. Events are state changes, not samples: a day of them is
// small.
type StreamEvents struct {
	JS jetstream.JetStream
	// MaxScan bounds the messages one query reads (default 200,000).
	MaxScan int
}

// Recent implements Events.
func (s *StreamEvents) Recent(ctx context.Context, q EventQuery) ([]Event, error) {
	st, err := s.JS.Stream(ctx, EventsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, ErrNoEvents
	}
	if err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	if info.State.Msgs == 0 {
		return []Event{}, nil
	}
	site, kind := "*", "*"
	if q.Site != "" {
		site = wire.Token(q.Site)
	}
	if q.Kind != "" {
		kind = wire.Token(q.Kind)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{wire.EventsPrefix + site + "." + kind},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   ptr(time.Now().Add(-q.Since)),
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	maxScan := s.MaxScan
	if maxScan <= 0 {
		maxScan = 200_000
	}
	ring := make([]Event, 0, q.Limit)
	scanned := 0
	for scanned < maxScan {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			scanned++
			var e Event
			if json.Unmarshal(m.Data(), &e) == nil && q.match(&e) {
				if len(ring) == q.Limit {
					copy(ring, ring[1:])
					ring = ring[:len(ring)-1]
				}
				ring = append(ring, e)
			}
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				last = true
			}
		}
		if batch.Error() != nil && !errors.Is(batch.Error(), jetstream.ErrNoMessages) && !errors.Is(batch.Error(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("read events: %w", batch.Error())
		}
		if last || n == 0 {
			break
		}
	}
	for i, j := 0, len(ring)-1; i < j; i, j = i+1, j-1 {
		ring[i], ring[j] = ring[j], ring[i]
	}
	return ring, nil
}

func ptr[T any](v T) *T { return &v }

// EventList is GET /api/v1/events.
type EventList struct {
	Events []Event `json:"events"`
	// Note says why there are none, when it is not for lack of changes.
	Note string `json:"note,omitempty"`
}

// handleEvents serves GET /api/v1/events.
func (w *Web) handleEvents(rw http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	q := EventQuery{Site: p.Get("site"), Kind: p.Get("kind"), Resource: p.Get("resource"), Status: p.Get("status"),
		Search: strings.ToLower(strings.TrimSpace(p.Get("q"))), Since: 24 * time.Hour}
	if s := p.Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			writeError(rw, http.StatusBadRequest, fmt.Sprintf("since %q: want a duration such as 1h or 30m", s))
			return
		}
		q.Since = d
	}
	if q.Status != "" && q.Status != "problem" && q.Status != "ok" {
		writeError(rw, http.StatusBadRequest, fmt.Sprintf("status %q: want problem or ok", q.Status))
		return
	}
	var err error
	if q.Limit, err = intParam(p.Get("limit"), 200, 1, 5000); err != nil {
		writeError(rw, http.StatusBadRequest, "limit: "+err.Error())
		return
	}
	out := EventList{Events: []Event{}}
	if w.opts.Events == nil {
		out.Note = ErrNoEvents.Error()
		writeJSON(rw, out)
		return
	}
	evs, err := w.opts.Events.Recent(r.Context(), q)
	switch {
	case errors.Is(err, ErrNoEvents):
		out.Note = err.Error()
	case err != nil:
		writeError(rw, http.StatusBadGateway, err.Error())
		return
	default:
		out.Events = evs
	}
	writeJSON(rw, out)
}
