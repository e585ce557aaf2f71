package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panoptes-go/panoptes/internal/event"
	"github.com/panoptes-go/panoptes/internal/layout"
)

// Partitions. A consumer reads every partition of the metrics bus (see
// wire.Layout): one durable consumer per stream, all named after the sink,
// each fed by a goroutine of its own. It reads one generation at a time:
// a generation only once every older one is retired and read to its end,
// so that a series, which moves to another partition when the partition
// count changes, is written in order.
//
// When several processes run the same consumer (one sink configured on
// several nodes), each partition is read by one of them, the one its Owner
// names; the others leave it alone and take it over when the owner stops
// (its durable consumer goes on where the owner's acks stopped; what it
// held unacknowledged comes again after the ack wait).

// Owner decides which partitions of a consumer this process reads, when
// several processes run it. Owns is asked every ownerTick for every
// partition of the generation being read: it must be cheap.
type Owner interface {
	Owns(consumer, partition string) bool
}

var (
	// partitionsTick is how often a consumer reads the streams' layout
	// and whether the generation it reads is finished.
	partitionsTick = 2 * time.Second
	// ownerTick is how often it asks its Owner.
	ownerTick = 250 * time.Millisecond
)

// reader is the goroutine reading one partition.
type reader struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// partitions is what the supervisor knows, shared with Pending.
type partitions struct {
	mu      sync.Mutex
	js      jetstream.JetStream // the bus, once read
	readers map[string]*reader  // by stream
	behind  bool                // a newer generation waits for the one being read
	pending map[string]uint64   // per stream, as of its last batch
}

// consumeBus reads the partitions this process owns, of the oldest
// generation not read to its end, until ctx is done; then it stops its
// readers (each settles its batch in hand) and returns nil. It returns an
// error only when the server refuses a consumer's configuration.
func (c *Consumer) consumeBus(ctx context.Context, js jetstream.JetStream) error {
	c.parts.mu.Lock()
	c.parts.js = js
	c.parts.readers = map[string]*reader{}
	c.parts.pending = map[string]uint64{}
	c.parts.mu.Unlock()
	refusedErr := make(chan error, 1)
	if c.events {
		// The events stream is not partitioned: every process running the
		// sink reads it through the one shared durable.
		defer c.stopReaders(nil)
		c.startReader(ctx, js, event.Stream, refusedErr)
		select {
		case <-ctx.Done():
			return nil
		case err := <-refusedErr:
			return err
		}
	}
	var lay layout.Layout
	var readAt time.Time
	finished := map[string]bool{} // retired streams read to their end
	var gen layout.Generation     // being read
	defer c.stopReaders(nil)
	t := time.NewTicker(ownerTick)
	defer t.Stop()
	for {
		if time.Since(readAt) >= partitionsTick {
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			l, err := layout.Read(lctx, js)
			if err == nil {
				lay, readAt = l, time.Now()
				gen = c.generationToRead(lctx, js, lay, finished)
			} else if ctx.Err() == nil {
				c.logger.Warn("sink: cannot read the metrics streams; retrying", "err", err)
				readAt = time.Now().Add(-partitionsTick + time.Second)
			}
			cancel()
		}
		var want []string
		for _, s := range gen.Streams {
			if s != nil && c.owns(s.Name) {
				want = append(want, s.Name)
			}
		}
		c.parts.mu.Lock()
		c.parts.behind = lay.Newest() > gen.Gen
		c.parts.mu.Unlock()
		c.stopReaders(want)
		for _, name := range want {
			c.startReader(ctx, js, name, refusedErr)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-refusedErr:
			return err
		case <-t.C:
		}
	}
}

// generationToRead is the oldest generation that is not retired or not
// read to its end (every one of its streams is empty or has this
// consumer's durable with nothing left to deliver or acknowledge).
func (c *Consumer) generationToRead(ctx context.Context, js jetstream.JetStream, lay layout.Layout, finished map[string]bool) layout.Generation {
	for _, g := range lay.Gens {
		if !g.Retired() {
			return g
		}
		for _, s := range g.Streams {
			if s == nil || finished[s.Name] {
				continue
			}
			if s.Empty() {
				finished[s.Name] = true
				continue
			}
			cons, err := js.Consumer(ctx, s.Name, c.durable)
			if err != nil {
				return g // not read yet (or not now): read it
			}
			info, err := cons.Info(ctx)
			if err != nil || info.NumPending > 0 || info.NumAckPending > 0 {
				return g
			}
			finished[s.Name] = true
		}
	}
	if len(lay.Gens) > 0 {
		return lay.Gens[len(lay.Gens)-1]
	}
	return layout.Generation{}
}

// owns reports whether this process reads stream.
func (c *Consumer) owns(stream string) bool {
	return c.owner == nil || c.owner.Owns(c.name, stream)
}

// startReader starts reading stream unless a reader does.
func (c *Consumer) startReader(ctx context.Context, js jetstream.JetStream, stream string, refusedErr chan<- error) {
	c.parts.mu.Lock()
	defer c.parts.mu.Unlock()
	if _, ok := c.parts.readers[stream]; ok {
		return
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &reader{cancel: cancel, done: make(chan struct{})}
	c.parts.readers[stream] = r
	c.logger.Debug("sink: reading partition", "stream", stream)
	go func() {
		defer close(r.done)
		if err := c.readPartition(rctx, js, stream); err != nil {
			select {
			case refusedErr <- err:
			default:
			}
		}
	}()
}

// stopReaders stops the readers of streams not in keep (nil: all) and
// waits for them: each settles its batch in hand first.
func (c *Consumer) stopReaders(keep []string) {
	c.parts.mu.Lock()
	var stopped []*reader
	for name, r := range c.parts.readers {
		if !slices.Contains(keep, name) {
			r.cancel()
			stopped = append(stopped, r)
			delete(c.parts.readers, name)
			delete(c.parts.pending, name)
			c.logger.Debug("sink: no longer reading partition", "stream", name)
		}
	}
	c.parts.mu.Unlock()
	for _, r := range stopped {
		<-r.done
	}
}

// setPending records a stream's backlog and updates the sink's gauge.
func (c *Consumer) setPending(stream string, n uint64) {
	c.parts.mu.Lock()
	if _, ok := c.parts.readers[stream]; ok {
		c.parts.pending[stream] = n
	}
	var sum uint64
	for _, v := range c.parts.pending {
		sum += v
	}
	c.parts.mu.Unlock()
	c.metrics.pending.Set(float64(sum))
}

// ErrNotRunning is Pending's error before Run reads the bus.
var ErrNotRunning = errors.New("sink: not reading the bus")

// Pending is how many messages of the partitions this process reads now
// are not written yet (not delivered, or delivered and not acknowledged),
// plus one while a newer generation waits for the one being read. A node
// stopping gracefully waits for 0; a process that reads no partition
// (another instance owns them all), or a sink fed by a Reader, has 0.
func (c *Consumer) Pending(ctx context.Context) (uint64, error) {
	if c.source != nil {
		return 0, nil
	}
	c.parts.mu.Lock()
	js := c.parts.js
	if js == nil {
		c.parts.mu.Unlock()
		return 0, ErrNotRunning
	}
	streams := make([]string, 0, len(c.parts.readers))
	for name := range c.parts.readers {
		streams = append(streams, name)
	}
	behind := c.parts.behind
	c.parts.mu.Unlock()
	var n uint64
	if behind {
		n++
	}
	for _, name := range streams {
		cons, err := js.Consumer(ctx, name, c.durable)
		if err != nil {
			return n, fmt.Errorf("sink %s: consumer %s on stream %s: %w", c.name, c.durable, name, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return n, fmt.Errorf("sink %s: consumer %s on stream %s: %w", c.name, c.durable, name, err)
		}
		n += info.NumPending + uint64(info.NumAckPending)
	}
	return n, nil
}
