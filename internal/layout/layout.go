// Package layout reads the metrics streams as they stand on the bus: their
// generations and partitions, and which are retired (see wire.Layout). The
// bus (internal/bus) creates and retires them; publishers follow the
// current generation; consumers (internal/sink) read the generations in
// order. It needs a JetStream handle and nothing of the engine.
package layout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// Stream metadata a partitioned stream carries (generation 0, made before
// partitions, has none: its name says what it is).
const (
	MetaGeneration = "panoptes_generation"
	MetaPartition  = "panoptes_partition"
	MetaPartitions = "panoptes_partitions"
	// MetaRetired is when the stream was retired (RFC 3339).
	MetaRetired = "panoptes_retired"
	// MetaSourcedPrefix + an edge's domain is the last sequence of that
	// edge's stream a retired stream holds: the next generation sources the
	// edge from the one after it.
	MetaSourcedPrefix = "panoptes_sourced_"
)

// Stream is one metrics stream.
type Stream struct {
	Name    string
	Part    int
	Retired bool // its subjects are taken away: nothing new lands in it
	Info    *jetstream.StreamInfo
}

// Empty reports whether the stream holds no message.
func (s Stream) Empty() bool { return s.Info.State.Msgs == 0 }

// Generation is one generation's streams, by partition (nil where one is
// missing: being created, or deleted).
type Generation struct {
	wire.Layout
	Streams []*Stream
}

// Complete reports whether every partition's stream exists.
func (g Generation) Complete() bool {
	return len(g.Streams) == g.N && !slices.Contains(g.Streams, nil)
}

// Retired reports whether every stream of the generation that exists is
// retired.
func (g Generation) Retired() bool {
	for _, s := range g.Streams {
		if s != nil && !s.Retired {
			return false
		}
	}
	return true
}

// Created is when the generation's newest stream was created.
func (g Generation) Created() time.Time {
	var t time.Time
	for _, s := range g.Streams {
		if s != nil && s.Info.Created.After(t) {
			t = s.Info.Created
		}
	}
	return t
}

// Layout is every metrics stream on the bus, by generation, oldest first.
type Layout struct {
	Gens []Generation
}

// Current is the newest complete generation that is not retired: where
// publishers send. ok is false when there is none (a new bus).
func (l Layout) Current() (g Generation, ok bool) {
	for i := len(l.Gens) - 1; i >= 0; i-- {
		if g := l.Gens[i]; g.Complete() && !g.Retired() {
			return g, true
		}
	}
	return Generation{}, false
}

// Newest is the highest generation number on the bus (-1 for none).
func (l Layout) Newest() int {
	if len(l.Gens) == 0 {
		return -1
	}
	return l.Gens[len(l.Gens)-1].Gen
}

// Find returns generation gen.
func (l Layout) Find(gen int) (Generation, bool) {
	for _, g := range l.Gens {
		if g.Gen == gen {
			return g, true
		}
	}
	return Generation{}, false
}

// Read lists the metrics streams (live and retired) and sorts them into
// generations. A partitioned stream without readable metadata is left out:
// it is not one of ours.
func Read(ctx context.Context, js jetstream.JetStream) (Layout, error) {
	byGen := map[int]*Generation{}
	for _, filter := range []string{wire.AllMetrics, wire.RetiredPrefix + ">"} {
		list := js.ListStreams(ctx, jetstream.WithStreamListSubject(filter))
		for info := range list.Info() {
			s, gen, n, ok := parse(info)
			if !ok {
				continue
			}
			g := byGen[gen]
			if g == nil {
				g = &Generation{Layout: wire.Layout{Gen: gen, N: n}, Streams: make([]*Stream, n)}
				byGen[gen] = g
			}
			if n != g.N || s.Part >= n || g.Streams[s.Part] != nil {
				continue // inconsistent metadata: keep what came first
			}
			g.Streams[s.Part] = s
		}
		if err := list.Err(); err != nil {
			return Layout{}, fmt.Errorf("list metrics streams: %w", err)
		}
	}
	var l Layout
	for _, g := range byGen {
		l.Gens = append(l.Gens, *g)
	}
	slices.SortFunc(l.Gens, func(a, b Generation) int { return a.Gen - b.Gen })
	return l, nil
}

// parse recognizes a metrics stream by its name and metadata.
func parse(info *jetstream.StreamInfo) (s *Stream, gen, n int, ok bool) {
	gen, part, ok := wire.ParseStreamName(info.Config.Name)
	if !ok {
		return nil, 0, 0, false
	}
	n = 1
	if gen > 0 {
		md := info.Config.Metadata
		g, err1 := strconv.Atoi(md[MetaGeneration])
		p, err2 := strconv.Atoi(md[MetaPartition])
		var err3 error
		n, err3 = strconv.Atoi(md[MetaPartitions])
		if err1 != nil || err2 != nil || err3 != nil || g != gen || p != part || n < 1 || n > wire.MaxPartitions || part >= n {
			return nil, 0, 0, false
		}
	}
	retired := info.Config.Metadata[MetaRetired] != "" || !capturesMetrics(info.Config.Subjects)
	return &Stream{Name: info.Config.Name, Part: part, Retired: retired, Info: info}, gen, n, true
}

// capturesMetrics reports whether a stream's subjects take metrics subjects.
func capturesMetrics(subjects []string) bool {
	for _, s := range subjects {
		if strings.HasPrefix(s, wire.MetricsPrefix) {
			return true
		}
	}
	return false
}

// Config is the configuration of partition p's stream of generation l
// (retention and replicas from base, which also names nothing else); the
// bus creates streams with it.
func Config(l wire.Layout, p int, base jetstream.StreamConfig) jetstream.StreamConfig {
	cfg := base
	cfg.Name = l.Stream(p)
	cfg.Subjects = []string{l.StreamSubject(p)}
	if l.Partitioned() {
		cfg.Description = fmt.Sprintf("Panoptes metrics groups, partition %d of %d (generation %d): the resources whose partition this is", p, l.N, l.Gen)
		cfg.Metadata = map[string]string{
			MetaGeneration: strconv.Itoa(l.Gen),
			MetaPartition:  strconv.Itoa(p),
			MetaPartitions: strconv.Itoa(l.N),
		}
	}
	return cfg
}
