// Package tracker turns observed states into events exactly once per
// change, across nodes and failover. The last state of every object lives
// in a JetStream KV bucket, one entry per resource and kind (a device's
// interfaces, its BGP sessions, ...); a change is recorded with a
// compare-and-set on that entry, so of two nodes racing with the same
// observation one writes the change and the other finds it recorded. The
// event is written into the entry as pending before it is published and
// removed after (an outbox): a node that dies in between leaves it for
// whoever applies the entry next (the redelivered message), who publishes
// it again under the same id, which the events stream deduplicates.
package tracker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/resource"
)

// Bucket is the KV bucket of last states.
const Bucket = "panoptes_event_state"

// Timing of the state entries.
const (
	// TTL drops the entry of a resource no one observed for this long.
	TTL = 30 * 24 * time.Hour
	// refreshAfter rewrites an unchanged entry observed this long after
	// its last write, so a steady state never reaches TTL.
	refreshAfter = 7 * 24 * time.Hour
	// forgetGone drops an object gone (Batch.Complete) this long.
	forgetGone = 7 * 24 * time.Hour
	// maxConflicts bounds the compare-and-set retries of one Apply.
	maxConflicts = 20
)

// FlapWindows are the windows an event's Flaps count changes in.
var FlapWindows = []struct {
	Name string
	D    time.Duration
}{{"5m", 5 * time.Minute}, {"1h", time.Hour}}

// Tracker records states and publishes the events of their changes.
type Tracker struct {
	kv  jetstream.KeyValue
	js  jetstream.JetStream
	log *slog.Logger
	m   *metrics
	now func() time.Time
}

// Options configure a Tracker.
type Options struct {
	Replicas   int // of the bucket
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // default time.Now: only for entry refresh and TTL bookkeeping
}

// Open creates (or opens) the state bucket and the events stream.
func Open(ctx context.Context, js jetstream.JetStream, o Options) (*Tracker, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "last state of every tracked object, one entry per resource and kind, and events not yet published",
		History:     1,
		TTL:         TTL,
		Replicas:    max(o.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	if err := event.EnsureStream(ctx, js, o.Replicas); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{kv: kv, js: js, log: o.Logger, m: newMetrics(o.Registerer), now: o.Now}, nil
}

// Observation is one object's state.
type Observation struct {
	Object  string
	State   string
	Problem bool // State needs attention
	Labels  map[string]string
}

// Batch is what one look at a resource says about the objects of a kind:
// every BGP session of one poll, every link of one device.
type Batch struct {
	Kind     string
	Resource *resource.Resource
	At       float64 // epoch seconds the observations are from
	Objects  []Observation
	// Complete says Objects are all the objects there are: one the entry
	// knows that is not among them changes to Gone (a link removed).
	Complete bool
	Gone     Observation // its State and Problem, and labels by object
	// GoneLabels are the labels of objects that went (by object).
	GoneLabels map[string]map[string]string
	// AnnounceInitial makes an object first seen in a problem state an
	// event with old_state "" (a BGP session already down when
	// monitoring starts); otherwise first observations are silent.
	AnnounceInitial bool
	// AnnounceAdded makes every first observation an event (links: added).
	AnnounceAdded bool
}

// record is a KV entry.
type record struct {
	Resource *resource.Resource `json:"resource"`
	Objects  map[string]*object `json:"objects"`
	Pending  []*event.Event     `json:"pending,omitempty"`
	Seq      uint64             `json:"seq"`
	Written  float64            `json:"written"`
}

type object struct {
	State   string  `json:"state"`
	Problem bool    `json:"problem,omitempty"`
	Since   float64 `json:"since"`
	// Flaps are the times it left a good state, within the longest window.
	Flaps []float64 `json:"flaps,omitempty"`
}

// Key is the KV key of a resource's entry of kind: resource keys hold
// characters KV keys may not, so it is a hash (the entry repeats the
// resource).
func Key(kind string, r *resource.Resource) string {
	h := sha256.Sum256([]byte(r.Key()))
	return kind + "." + hex.EncodeToString(h[:12])
}

// Apply records b and publishes the events of the changes it holds (and
// any event a node recorded for the entry without publishing it). It
// returns the events of b's changes. An observation older than its
// object's last change is ignored: a redelivered message must not undo a
// newer one. An error means b may not be recorded: apply it again.
func (t *Tracker) Apply(ctx context.Context, b Batch) ([]*event.Event, error) {
	if b.Resource == nil || b.Kind == "" {
		return nil, errors.New("tracker: batch without resource or kind")
	}
	key := Key(b.Kind, b.Resource)
	for attempt := 0; ; attempt++ {
		rec, rev, err := t.load(ctx, key)
		if err != nil {
			return nil, err
		}
		events, changed := t.apply(rec, &b, key)
		now := epoch(t.now())
		if !changed && now-rec.Written < refreshAfter.Seconds() {
			if len(rec.Pending) > 0 {
				return events, t.flush(ctx, key, rec, rev)
			}
			return events, nil
		}
		rec.Written = now
		rec.Resource = b.Resource
		rec.Pending = append(rec.Pending, events...)
		newRev, err := t.store(ctx, key, rec, rev)
		if errors.Is(err, errConflict) {
			t.m.conflicts.Inc()
			if attempt >= maxConflicts {
				return nil, fmt.Errorf("tracker: %s of %s: %d concurrent updates in a row", b.Kind, b.Resource.ID, attempt)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			t.m.emitted.WithLabelValues(e.Kind, e.Status).Inc()
		}
		return events, t.flush(ctx, key, rec, newRev)
	}
}

// apply folds b into rec and returns the new events; changed says rec
// must be written.
func (t *Tracker) apply(rec *record, b *Batch, key string) (events []*event.Event, changed bool) {
	emit := func(obj, old, state string, problem bool, labels map[string]string, o *object) {
		rec.Seq++
		e := &event.Event{
			ID:   b.Kind + ":" + b.Resource.Site + ":" + key[len(b.Kind)+1:] + ":" + strconv.FormatUint(rec.Seq, 10),
			Kind: b.Kind, Site: b.Resource.Site, Resource: b.Resource, Object: obj,
			OldState: old, NewState: state, Status: event.StatusOK, Time: b.At, Labels: labels,
		}
		if problem {
			e.Status = event.StatusProblem
		}
		if o != nil && len(o.Flaps) > 0 {
			e.Flaps = map[string]int{}
			for _, w := range FlapWindows {
				n := 0
				for _, at := range o.Flaps {
					if at > b.At-w.D.Seconds() {
						n++
					}
				}
				e.Flaps[w.Name] = n
			}
		}
		events = append(events, e)
	}
	seen := make(map[string]bool, len(b.Objects))
	for i := range b.Objects {
		ob := &b.Objects[i]
		seen[ob.Object] = true
		o := rec.Objects[ob.Object]
		switch {
		case o == nil:
			o = &object{State: ob.State, Problem: ob.Problem, Since: b.At}
			rec.Objects[ob.Object] = o
			changed = true
			if b.AnnounceAdded || b.AnnounceInitial && ob.Problem {
				emit(ob.Object, "", ob.State, ob.Problem, ob.Labels, o)
			}
		case b.At <= o.Since:
			t.m.stale.Inc()
		case o.State != ob.State:
			old := o.State
			if ob.Problem && !o.Problem {
				o.Flaps = append(o.Flaps, b.At)
			}
			o.trim(b.At)
			o.State, o.Problem, o.Since = ob.State, ob.Problem, b.At
			changed = true
			emit(ob.Object, old, ob.State, ob.Problem, ob.Labels, o)
		}
	}
	if b.Complete {
		names := make([]string, 0, len(rec.Objects))
		for name := range rec.Objects {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			o := rec.Objects[name]
			switch {
			case seen[name]:
			case o.State == b.Gone.State:
				if b.At-o.Since > forgetGone.Seconds() {
					delete(rec.Objects, name)
					changed = true
				}
			case b.At > o.Since:
				old := o.State
				if b.Gone.Problem && !o.Problem {
					o.Flaps = append(o.Flaps, b.At)
				}
				o.trim(b.At)
				o.State, o.Problem, o.Since = b.Gone.State, b.Gone.Problem, b.At
				changed = true
				emit(name, old, b.Gone.State, b.Gone.Problem, b.GoneLabels[name], o)
			}
		}
	}
	return events, changed
}

// trim drops flaps older than the longest window.
func (o *object) trim(now float64) {
	keep := o.Flaps[:0]
	for _, at := range o.Flaps {
		if at > now-FlapWindows[len(FlapWindows)-1].D.Seconds() {
			keep = append(keep, at)
		}
	}
	o.Flaps = keep
}

var errConflict = errors.New("the entry changed meanwhile")

func (t *Tracker) load(ctx context.Context, key string) (*record, uint64, error) {
	e, err := t.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &record{Objects: map[string]*object{}}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("tracker: get %s: %w", key, err)
	}
	rec := &record{}
	if err := json.Unmarshal(e.Value(), rec); err != nil {
		// A damaged entry is started afresh rather than blocking the
		// resource forever; it is logged and counted.
		t.m.damaged.Inc()
		t.log.Warn("tracker: damaged state entry; starting it again", "key", key, "err", err)
		rec = &record{}
	}
	if rec.Objects == nil {
		rec.Objects = map[string]*object{}
	}
	return rec, e.Revision(), nil
}

// store writes rec if the entry is still at rev (0: absent).
func (t *Tracker) store(ctx context.Context, key string, rec *record, rev uint64) (uint64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("tracker: encode %s: %w", key, err)
	}
	var newRev uint64
	if rev == 0 {
		newRev, err = t.kv.Create(ctx, key, data)
	} else {
		newRev, err = t.kv.Update(ctx, key, data, rev)
	}
	if isConflict(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("tracker: write %s: %w", key, err)
	}
	return newRev, nil
}

func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// flush publishes rec's pending events, then removes them from the entry
// (at rev); losing that race only means a later Apply publishes them
// again, which the stream deduplicates.
func (t *Tracker) flush(ctx context.Context, key string, rec *record, rev uint64) error {
	if len(rec.Pending) == 0 {
		return nil
	}
	published := map[string]bool{}
	for _, e := range rec.Pending {
		if err := event.Publish(ctx, t.js, e); err != nil {
			t.m.publishErrors.Inc()
			return fmt.Errorf("tracker: %w", err)
		}
		published[e.ID] = true
	}
	for attempt := 0; attempt < maxConflicts; attempt++ {
		keep := rec.Pending[:0]
		for _, e := range rec.Pending {
			if !published[e.ID] {
				keep = append(keep, e)
			}
		}
		if len(keep) == len(rec.Pending) {
			return nil // someone else cleared them
		}
		rec.Pending = keep
		_, err := t.store(ctx, key, rec, rev)
		if !errors.Is(err, errConflict) {
			return err
		}
		if rec, rev, err = t.load(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
