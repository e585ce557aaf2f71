package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/layout"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Partitions (see wire.Layout for the layout itself).
//
// Every bus follows the current generation: it reads the streams at Open
// and every Options.LayoutTick, and publishes with the newest complete
// generation that is not retired. A bus whose Options.Partitions differs
// from the current generation's count creates the next generation at Open;
// from then on new publishes go there. Options.RetireAfter later (every
// publisher has seen it by then), any bus retires the older generations: their streams
// lose their subjects (and edges' sources, which move to the new
// generation where they stopped), so nothing new lands in them, and
// consumers, which read a generation only once the older ones are drained,
// keep every series in order. A publish that still reaches a retired
// subject finds no stream; it goes to the publisher's buffer, which sends
// it again into its resource's partition of the current generation.
// Defaults for Options.LayoutTick and Options.RetireAfter.
const (
	DefaultLayoutTick  = 2 * time.Second
	DefaultRetireAfter = 10 * time.Second
)

// Layout is the generation of metrics streams this bus publishes to.
func (b *Bus) Layout() wire.Layout { return *b.layout.Load() }

// streamBase is what every metrics stream of a layout with n partitions
// has besides its name and subjects: max_bytes is the whole bus's, shared
// by the partitions.
func (b *Bus) streamBase(n int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Description: "Panoptes metrics groups, one per message",
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      b.maxAge,
		MaxBytes:    b.maxBytes / int64(max(n, 1)),
		Replicas:    b.replicas,
		Duplicates:  min(duplicateWindow, b.maxAge),
	}
}

// ensureLayout sets the metrics streams up (see applyLayout), retrying
// while the JetStream cluster is forming (no leader, not enough peers yet).
func (b *Bus) ensureLayout(ctx context.Context, deadline time.Time) error {
	attempts, err := retryUntil(ctx, deadline, permanentStreamError,
		func(n int, err error) {
			b.logger.Warn("bus: metrics streams not available yet (JetStream cluster forming?); retrying", "attempt", n, "err", err)
		},
		func(actx context.Context) error {
			l, err := b.applyLayout(actx)
			if err == nil {
				b.layout.Store(&l)
			}
			return err
		})
	if err != nil {
		hint := "check the stream's settings"
		if !permanentStreamError(err) {
			hint = fmt.Sprintf("the JetStream cluster has no leader or fewer servers than bus.replicas (%d): start the other servers, check bus.cluster.routes (and that the log shows no refused route: bus.cluster.user, password and tls must match on every server), or lower bus.replicas", b.replicas)
		}
		return fmt.Errorf("bus: create or update the metrics streams: %w (after %d attempt(s); %s)", err, attempts, hint)
	}
	return nil
}

// applyLayout creates the metrics streams of a new bus (one stream, or
// b.partitions), updates the current generation's settings, or, when
// b.partitions asks for another count, creates the next generation. It
// returns the generation to publish to.
func (b *Bus) applyLayout(ctx context.Context) (wire.Layout, error) {
	lay, err := layout.Read(ctx, b.js)
	if err != nil {
		return wire.Layout{}, err
	}
	want := b.partitions
	cur, ok := lay.Current()
	// A switch interrupted halfway left a newer generation incomplete:
	// finish it if it is what is asked, else remove it (nobody publishes
	// to an incomplete generation) and start again.
	if n := len(lay.Gens); n > 0 {
		newest := lay.Gens[n-1]
		if !newest.Complete() && !newest.Retired() && (!ok || newest.Gen > cur.Gen) {
			if want == newest.N || (want == 0 && !ok) {
				return newest.Layout, b.createGeneration(ctx, newest)
			}
			if err := b.dropGeneration(ctx, newest); err != nil {
				return wire.Layout{}, err
			}
			return b.applyLayout(ctx)
		}
	}
	switch {
	case !ok && lay.Newest() < 0 && want <= 1:
		return wire.Legacy, b.createGeneration(ctx, layout.Generation{Layout: wire.Legacy, Streams: make([]*layout.Stream, 1)})
	case !ok:
		next := wire.Layout{Gen: lay.Newest() + 1, N: max(want, 1)}
		next.Gen = max(next.Gen, 1)
		return next, b.createGeneration(ctx, layout.Generation{Layout: next, Streams: make([]*layout.Stream, next.N)})
	case want == 0 || want == cur.N:
		return cur.Layout, b.updateGeneration(ctx, cur)
	}
	next := wire.Layout{Gen: lay.Newest() + 1, N: want}
	b.logger.Warn("bus: changing the metrics partitions: new publishes go to a new generation of streams; consumers finish the old one first",
		"from", cur.Layout.String(), "to", next.String())
	if cur.Gen == 0 {
		// Generation 0 takes panoptes.metrics.>, which the new streams'
		// subjects overlap: narrow it to what its publishers send.
		s := cur.Streams[0]
		cfg := s.Info.Config
		cfg.Subjects = []string{wire.LegacySubjects}
		if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
			return wire.Layout{}, fmt.Errorf("narrow %s to %s: %w", s.Name, wire.LegacySubjects, err)
		}
	}
	return next, b.createGeneration(ctx, layout.Generation{Layout: next, Streams: make([]*layout.Stream, next.N)})
}

// createGeneration creates g's missing streams. Another bus creating the
// same generation at the same time is harmless (same configuration).
func (b *Bus) createGeneration(ctx context.Context, g layout.Generation) error {
	base := b.streamBase(g.N)
	for p := range g.N {
		if p < len(g.Streams) && g.Streams[p] != nil {
			continue
		}
		cfg := layout.Config(g.Layout, p, base)
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// updateGeneration applies this bus's retention and replicas to g's
// streams, keeping what the layout added (partition 0's legacy subjects)
// and the sources of configured edge domains (the sourcer adds others).
func (b *Bus) updateGeneration(ctx context.Context, g layout.Generation) error {
	base := b.streamBase(g.N)
	for p, s := range g.Streams {
		cfg := layout.Config(g.Layout, p, base)
		if g.Partitioned() && slices.Contains(s.Info.Config.Subjects, wire.LegacySubjects) {
			cfg.Subjects = append(cfg.Subjects, wire.LegacySubjects)
		}
		cfg.Sources = keepSources(s.Info.Config.Sources, b.sourceDomains)
		if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("update stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// dropGeneration deletes the streams of an incomplete generation; one
// that holds messages (which nobody should have sent) is kept and reported.
func (b *Bus) dropGeneration(ctx context.Context, g layout.Generation) error {
	for _, s := range g.Streams {
		if s == nil {
			continue
		}
		if !s.Empty() {
			return fmt.Errorf("stream %s of the unfinished generation %d holds %d messages; give every node the same bus.partitions (%d), or delete it", s.Name, g.Gen, s.Info.State.Msgs, g.N)
		}
		if err := b.js.DeleteStream(ctx, s.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s of an unfinished generation: %w", s.Name, err)
		}
	}
	b.logger.Warn("bus: removed an unfinished generation of metrics streams (another bus.partitions was asked)", "generation", g.Gen, "partitions", g.N)
	return nil
}

// runLayout follows the current generation and retires older ones, every
// Options.LayoutTick, until ctx is done.
func (b *Bus) runLayout(ctx context.Context) {
	t := time.NewTicker(b.layoutTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.followLayout(ctx); err != nil && ctx.Err() == nil {
			b.logger.Warn("bus: metrics streams", "err", err)
		}
	}
}

// followLayout reads the live streams once: it switches publishing to a
// newer generation, retires the older ones once the newest is
// Options.RetireAfter old, and gives the legacy subjects to the current partition 0 once no
// older stream takes them.
func (b *Bus) followLayout(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	lay, err := layout.Read(actx, b.js)
	if err != nil {
		return err
	}
	cur, ok := lay.Current()
	if !ok {
		return nil
	}
	if prev := b.Layout(); cur.Layout != prev {
		l := cur.Layout
		b.layout.Store(&l)
		b.logger.Info("bus: publishing to a new generation of metrics streams", "from", prev.String(), "to", l.String())
		b.buf.wake() // what is buffered for the old one goes to the new one
	}
	if time.Since(cur.Created()) < b.retireAfter {
		return nil
	}
	var errs []error
	for _, g := range lay.Gens {
		if g.Gen < cur.Gen && !g.Retired() {
			errs = append(errs, b.retire(actx, g))
		}
	}
	if len(errs) == 0 && cur.Partitioned() && !legacyTaken(lay) {
		s := cur.Streams[0]
		cfg := s.Info.Config
		cfg.Subjects = append(slices.Clone(cfg.Subjects), wire.LegacySubjects)
		if _, err := b.js.UpdateStream(actx, cfg); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: take %s: %w", s.Name, wire.LegacySubjects, err))
		}
	}
	return errors.Join(errs...)
}

// legacyTaken reports whether a live stream takes the subjects without a
// partition token.
func legacyTaken(lay layout.Layout) bool {
	for _, g := range lay.Gens {
		for _, s := range g.Streams {
			if s == nil || s.Retired {
				continue
			}
			if slices.Contains(s.Info.Config.Subjects, wire.LegacySubjects) || slices.Contains(s.Info.Config.Subjects, wire.AllMetrics) {
				return true
			}
		}
	}
	return false
}

// retire takes g's streams' subjects and sources away, noting in each
// stream how far it sourced every edge (the next generation's source
// starts after that).
func (b *Bus) retire(ctx context.Context, g layout.Generation) error {
	var errs []error
	for _, s := range g.Streams {
		if s == nil || s.Retired {
			continue
		}
		st, err := b.js.Stream(ctx, s.Name) // fresh: the sources' positions
		if err != nil {
			errs = append(errs, fmt.Errorf("retire stream %s: %w", s.Name, err))
			continue
		}
		info := st.CachedInfo()
		cfg := info.Config
		md := maps.Clone(cfg.Metadata)
		if md == nil {
			md = map[string]string{}
		}
		md[layout.MetaRetired] = time.Now().UTC().Format(time.RFC3339)
		for _, si := range info.Sources {
			d := sourceInfoDomain(si)
			if d == "" {
				continue
			}
			if si.Seq == 0 && si.Lag > 0 {
				b.logger.Warn("bus: the server does not say how far a retired stream sourced an edge; the next generation sources it from its start (duplicates, no loss)",
					"stream", s.Name, "domain", d)
			}
			md[layout.MetaSourcedPrefix+d] = strconv.FormatUint(si.Seq, 10)
		}
		cfg.Metadata = md
		cfg.Subjects = []string{wire.RetiredSubject(s.Name)}
		cfg.Sources = nil
		if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
			errs = append(errs, fmt.Errorf("retire stream %s: %w", s.Name, err))
			continue
		}
		b.logger.Info("bus: retired a metrics stream of an older generation: consumers drain it before they read the next",
			"stream", s.Name, "generation", g.Gen, "messages", info.State.Msgs)
	}
	return errors.Join(errs...)
}
