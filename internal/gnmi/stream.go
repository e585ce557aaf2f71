package gnmi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/selfmetric"
)

// Subscriber keeps one STREAM subscription to one target up: it
// reconnects with jittered exponential backoff, treats a stream silent
// for longer than Silence as down, and hands what it receives to the
// consumer through a bounded queue (the oldest notifications are dropped
// when the consumer falls behind).
type Subscriber struct {
	Config  Config
	Request Request
	// Name identifies the target in logs and self-metrics (the resource).
	Name string
	// Silence: a stream that delivers nothing for this long is down
	// (default: twice the longest sample or heartbeat interval of the
	// request, at least 30s).
	Silence time.Duration
	// QueueLen and QueueBytes bound the queue (default 65536 and 64 MiB).
	QueueLen, QueueBytes int
	// MinBackoff and MaxBackoff bound the wait between attempts (default
	// 1s and 60s); each wait is drawn from [d/2, d] with d doubling
	// (package backoff).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Metrics                *Metrics
	// OnState is told every change of the subscription's state (from the
	// receiving goroutine; the consumer also gets Connected and Down events).
	OnState func(State)
	// Tick, when set, adds a Tick event this often to the consumer's
	// events, even when the target sends nothing.
	Tick time.Duration
}

// State is a subscription's state: up, or down with the polling status
// and error that say why.
type State struct {
	Up     bool
	Status int // metric.Status*
	Err    error
}

// Run subscribes until ctx ends, calling handle for every event in order
// from one goroutine. It returns ctx's error, or the request's error when
// it cannot be built.
func (s *Subscriber) Run(ctx context.Context, handle func(Event)) error {
	s.defaults()
	log := s.Logger.With("target", s.Name, "address", s.Config.Address)
	m := s.Metrics.forTarget(s.Name)
	defer s.Metrics.remove(s.Name)
	q := newQueue(s.QueueLen, s.QueueBytes, func(n int) { m.dropped.Add(float64(n)) })

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the consumer stops with ctx
	defer cancel()
	wg.Add(1)
	var tick <-chan time.Time
	if s.Tick > 0 {
		t := time.NewTicker(s.Tick)
		defer t.Stop()
		tick = t.C
	}
	go func() { // the consumer
		defer wg.Done()
		for {
			e, ok := q.pop(ctx, tick)
			if !ok {
				return
			}
			handle(e)
		}
	}()

	down := func(st State) {
		s.setState(st, m)
		q.push(Event{Kind: Down, Status: st.Status, Err: st.Err})
	}
	c, err := Dial(s.Config)
	if err != nil {
		down(State{Status: metric.StatusInternalFailure, Err: err})
		<-ctx.Done()
		return err
	}
	defer c.Close()
	if _, err := c.subscribeRequest(&s.Request, 0); err != nil {
		down(State{Status: metric.StatusInternalFailure, Err: err})
		<-ctx.Done()
		return err
	}
	wait := backoff.Backoff{Min: s.MinBackoff, Max: s.MaxBackoff} // Equal jitter: [d/2, d]
	lastStatus := -1                                              // the previous failure's status
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			m.reconnects.Inc()
		}
		up, err := s.session(ctx, c, q, m)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		down(State{Status: StatusOf(err), Err: err})
		if up {
			wait.Reset() // it worked for a while: start over
		}
		d := wait.Next()
		// A warning when the stream goes down or fails differently; the
		// same failure again (a dead target, retried for hours) is debug.
		st, level := StatusOf(err), slog.LevelWarn
		if !up && st == lastStatus {
			level = slog.LevelDebug
		}
		lastStatus = st
		log.Log(ctx, level, "gnmi subscription down", "err", err, "status", metric.StatusName(st), "retry_in", d.Round(time.Millisecond))
		if backoff.Sleep(ctx, d) != nil {
			return ctx.Err()
		}
	}
}

var errSilent = errors.New("stream silent")

// session runs one stream until it fails; up says it delivered something.
func (s *Subscriber) session(ctx context.Context, c *Client, q *queue, m *targetMetrics) (up bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sess, err := c.Stream(sctx, &s.Request)
	if err != nil {
		return false, err
	}
	watchdog := time.AfterFunc(s.Silence, func() { cancel(errSilent) })
	defer watchdog.Stop()
	for {
		resp, err := sess.Recv()
		if err != nil {
			if errors.Is(context.Cause(sctx), errSilent) {
				return up, &Error{Status: metric.StatusTimeout, Err: errSilent,
					Msg: fmt.Sprintf("gnmi %s: stream silent for %s (longer than its heartbeat or sample interval allows): treated as down", c.cfg.Address, s.Silence)}
			}
			return up, err
		}
		watchdog.Reset(s.Silence)
		if !up {
			up = true
			q.push(Event{Kind: Connected})
			s.setState(State{Up: true}, m)
		}
		switch {
		case resp.GetSyncResponse():
			q.push(Event{Kind: Sync})
		case resp.GetUpdate() != nil:
			n := resp.GetUpdate()
			m.updates.Add(float64(len(n.GetUpdate()) + len(n.GetDelete())))
			m.notifications.Inc()
			q.push(Event{Kind: Notification, Notification: n})
		}
	}
}

func (s *Subscriber) setState(st State, m *targetMetrics) {
	if st.Up {
		m.up.Set(1)
	} else {
		m.up.Set(0)
	}
	if s.OnState != nil {
		s.OnState(st)
	}
}

func (s *Subscriber) defaults() {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics(nil)
	}
	if s.QueueLen <= 0 {
		s.QueueLen = 65536
	}
	if s.QueueBytes <= 0 {
		s.QueueBytes = 64 << 20
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = time.Second
	}
	if s.MaxBackoff < s.MinBackoff {
		s.MaxBackoff = max(60*time.Second, s.MinBackoff)
	}
	if s.Silence <= 0 {
		longest := time.Duration(0)
		for _, sub := range s.Request.Subscriptions {
			longest = max(longest, sub.SampleInterval, sub.HeartbeatInterval)
		}
		s.Silence = max(2*longest, 30*time.Second)
	}
}

// Metrics are the subscribers' self-metrics, labelled by target.
type Metrics struct {
	updates, dropped, reconnects *prometheus.CounterVec
	notifications                prometheus.Counter
	up                           *prometheus.GaugeVec
	totals                       [4]atomic.Uint64 // updates, dropped, reconnects, notifications of every target, ever
}

// Totals are the updates received, notifications dropped and reconnects
// of every target since the Metrics were made (the labelled series go
// with their target).
func (m *Metrics) Totals() (updates, dropped, reconnects uint64) {
	return m.totals[0].Load(), m.totals[1].Load(), m.totals[2].Load()
}

// Notifications is the number of notifications received from every target
// since the Metrics were made.
func (m *Metrics) Notifications() uint64 { return m.totals[3].Load() }

type targetMetrics struct {
	updates, dropped, reconnects counter
	notifications                counter
	up                           prometheus.Gauge
}

// counter is a target's series and the all-time total.
type counter struct {
	c     prometheus.Counter
	total *atomic.Uint64
}

func (c counter) Add(n float64) {
	c.c.Add(n)
	c.total.Add(uint64(n))
}

func (c counter) Inc() { c.Add(1) }

// NewMetrics registers the subscribers' self-metrics with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "panoptes_gnmi_updates_total",
			Help: "Leaf updates and deletes received from gNMI targets."}, []string{"target"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "panoptes_gnmi_notifications_dropped_total",
			Help: "Notifications dropped, oldest first, because the consumer fell behind the target."}, []string{"target"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "panoptes_gnmi_reconnects_total",
			Help: "Subscription attempts after the first, per target."}, []string{"target"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "panoptes_gnmi_subscription_up",
			Help: "1 while a target's subscription stream is up, 0 while it is down."}, []string{"target"}),
		// Not per target: a target's rate is its updates' (per-target
		// series of both would double the series for little).
		notifications: prometheus.NewCounter(prometheus.CounterOpts{Name: "panoptes_gnmi_notifications_total",
			Help: "Notifications (each a timestamp and its updates) received from every gNMI target."}),
	}
	m.updates = selfmetric.Register(reg, m.updates)
	m.dropped = selfmetric.Register(reg, m.dropped)
	m.reconnects = selfmetric.Register(reg, m.reconnects)
	m.up = selfmetric.Register(reg, m.up)
	m.notifications = selfmetric.Register(reg, m.notifications)
	return m
}

func (m *Metrics) forTarget(t string) *targetMetrics {
	return &targetMetrics{updates: counter{m.updates.WithLabelValues(t), &m.totals[0]},
		dropped:       counter{m.dropped.WithLabelValues(t), &m.totals[1]},
		reconnects:    counter{m.reconnects.WithLabelValues(t), &m.totals[2]},
		notifications: counter{m.notifications, &m.totals[3]}, up: m.up.WithLabelValues(t)}
}

func (m *Metrics) remove(t string) {
	m.updates.DeleteLabelValues(t)
	m.dropped.DeleteLabelValues(t)
	m.reconnects.DeleteLabelValues(t)
	m.up.DeleteLabelValues(t)
}
