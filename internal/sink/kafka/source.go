package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/panoptes-go/panoptes/internal/backoff"
	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
)

// Reader defaults for config fields left zero (the config loader normally
// fills them).
const (
	DefaultBatchSize    = 500
	DefaultBatchTimeout = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	minBackoff          = 100 * time.Millisecond
	// closeTimeout bounds leaving the group and the last commit on stop.
	closeTimeout = 5 * time.Second
)

func init() {
	sink.RegisterSource("kafka", func(options plugin.Block, deps sink.SourceDeps) (sink.Reader, error) {
		var c SourceConfig
		if err := options.Decode(&c); err != nil {
			return nil, err
		}
		return NewReader(c, deps)
	})
}

// SourceConfig is where a Kafka-sourced sink reads: its source.kafka
// section.
type SourceConfig struct {
	Brokers  []string `yaml:"brokers"`
	Topics   []string `yaml:"topics"`
	Group    string   `yaml:"group"` // default sink_<name>
	Username string   `yaml:"username"`
	Password string   `yaml:"password" secret:"true"`
	TLS      bool     `yaml:"tls"`
}

// Reader feeds a sink from Kafka topics as a member of a consumer group.
// It commits a batch's offsets only after handle returned nil for it, so a
// record is never skipped: a crash or a failed write means it comes again.
type Reader struct {
	name         string
	group        string
	topics       []string
	opts         []kgo.Opt
	batchSize    int
	batchTimeout time.Duration
	maxBackoff   time.Duration
	logger       *slog.Logger
	metrics      *sourceMetrics
}

var _ sink.Reader = (*Reader)(nil)

// NewReader checks k and returns the reader of the sink deps.Name; it
// connects to nothing until Run. The consumer group defaults to
// sink.DurableName(name), so every process running the same sink shares its
// partitions. Field errors are relative to the source.kafka section.
func NewReader(k SourceConfig, deps sink.SourceDeps) (*Reader, error) {
	if err := checkBrokers("brokers", k.Brokers); err != nil {
		return nil, err
	}
	if len(k.Topics) == 0 {
		return nil, fieldErr("topics", "is empty; list the topics to read, e.g. [site1-processed]")
	}
	for i, t := range k.Topics {
		if err := checkTopic(t); err != nil {
			return nil, fieldErr(fmt.Sprintf("topics[%d]", i), err.Error())
		}
	}
	if err := checkCredentials("", k.Username, k.Password); err != nil {
		return nil, err
	}
	group := k.Group
	if group == "" {
		group = sink.DurableName(deps.Name)
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("kafka_group", group)
	r := &Reader{
		name:         deps.Name,
		group:        group,
		topics:       append([]string(nil), k.Topics...),
		batchSize:    deps.BatchSize,
		batchTimeout: deps.BatchTimeout,
		maxBackoff:   deps.MaxBackoff,
		logger:       logger,
	}
	if r.batchSize == 0 {
		r.batchSize = DefaultBatchSize
	}
	if r.batchTimeout <= 0 {
		r.batchTimeout = DefaultBatchTimeout
	}
	if r.maxBackoff <= 0 {
		r.maxBackoff = DefaultMaxBackoff
	}
	r.maxBackoff = max(r.maxBackoff, minBackoff)
	r.metrics = newSourceMetrics(deps.Registerer, deps.Name)
	conn := connection{brokers: k.Brokers, username: k.Username, password: k.Password, tls: k.TLS}
	r.opts = append(conn.opts(logger),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(r.topics...),
		// A new group starts at the oldest record: nothing already in
		// the topic is lost.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Offsets are committed by Run after handle succeeded, never in
		// the background.
		kgo.DisableAutoCommit(),
		// No partition is revoked between a poll and its commit, so a
		// batch is committed by the member that wrote it.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(r.forget),
		kgo.OnPartitionsLost(r.forget),
	)
	return r, nil
}

// Run consumes until ctx is done. Each batch (up to batch_size records, or
// what arrived within batch_timeout of its first record) goes to handle;
// its offsets are committed when handle returns nil. When handle fails
// while ctx is still live, the partitions are rewound to the batch's first
// offsets and the same records come again after a backoff. Run returns nil
// when ctx is done, having left the group; an uncommitted batch is read
// again by whichever member gets its partitions.
func (r *Reader) Run(ctx context.Context, handle func(ctx context.Context, batch []sink.Record) error) error {
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		return fmt.Errorf("kafka source: create consumer: %w", err)
	}
	defer r.close(cl)

	// Jittered: the members of a group that failed together (the store
	// was down) do not all retry at the same moment.
	bo := backoff.Backoff{Min: minBackoff, Max: r.maxBackoff, Jitter: backoff.Equal}
	var recs []*kgo.Record
	var batch []sink.Record
	for ctx.Err() == nil {
		recs = r.collect(ctx, cl, &bo, recs[:0])
		if len(recs) == 0 {
			cl.AllowRebalance()
			continue
		}
		batch = toRecords(recs, batch[:0])
		err := handle(ctx, batch)
		clear(batch)
		if err != nil {
			if ctx.Err() != nil {
				break // stopping: the batch stays uncommitted and comes again
			}
			delay := bo.Next()
			r.metrics.retries.Inc()
			r.logger.Warn("sink: kafka source: write failed; nothing committed, reading the batch again",
				"records", len(recs), "retry_in", delay, "err", err)
			cl.SetOffsets(firstOffsets(recs))
			clear(recs)
			cl.AllowRebalance()
			backoff.Sleep(ctx, delay)
			continue
		}
		bo.Reset()
		r.commit(ctx, cl, recs)
		clear(recs)
		cl.AllowRebalance()
	}
	return nil
}

// collect polls until it holds batchSize records or batchTimeout passed
// since the first one. It returns nothing when ctx ends: records polled but
// not handed over are not committed and come again.
func (r *Reader) collect(ctx context.Context, cl *kgo.Client, bo *backoff.Backoff, recs []*kgo.Record) []*kgo.Record {
	var deadline time.Time
	for len(recs) < r.batchSize {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			pctx, cancel = context.WithTimeout(ctx, left)
		}
		fetches := cl.PollRecords(pctx, r.batchSize-len(recs))
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			clear(recs)
			return recs[:0]
		}
		failed := false
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			failed = true
			r.metrics.fetchErrors.Inc()
			r.logger.Warn("sink: kafka source: fetch failed; retrying", "topic", topic, "partition", partition, "err", err)
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if n := len(p.Records); n > 0 {
				r.metrics.setLag(p.Topic, p.Partition, p.HighWatermark-p.Records[n-1].Offset-1)
			}
		})
		before := len(recs)
		fetches.EachRecord(func(rec *kgo.Record) { recs = append(recs, rec) })
		if before == 0 && len(recs) > 0 {
			deadline = time.Now().Add(r.batchTimeout)
		}
		if len(recs) == 0 {
			// Nothing held: an errors-only poll must not keep blocking
			// the group's rebalances.
			cl.AllowRebalance()
			if failed {
				backoff.Sleep(ctx, bo.Next()) // a broker or the group is unavailable: don't spin
			}
		}
	}
	return recs
}

// toRecords decodes Kafka records for the sink. A record that does not
// decode is passed on with Group nil: the consumer framework sets it aside
// as poison with its reason, which is how one bad record neither blocks the
// partition nor vanishes.
func toRecords(recs []*kgo.Record, out []sink.Record) []sink.Record {
	for _, rec := range recs {
		g, err := metric.Decode(rec.Value)
		if err != nil {
			g = nil
		}
		out = append(out, sink.Record{Subject: rec.Topic, Data: rec.Value, Group: g, Time: rec.Timestamp})
	}
	return out
}

// firstOffsets is where to read a failed batch again: per partition, its
// first record (records of one partition arrive in offset order).
func firstOffsets(recs []*kgo.Record) map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	for _, rec := range recs {
		parts := out[rec.Topic]
		if parts == nil {
			parts = map[int32]kgo.EpochOffset{}
			out[rec.Topic] = parts
		}
		if eo, ok := parts[rec.Partition]; !ok || rec.Offset < eo.Offset {
			parts[rec.Partition] = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset}
		}
	}
	return out
}

// commit commits the written batch. It still runs when ctx just ended: the
// write is done and committing spares a duplicate. A failed commit only
// means the batch is written again later (at least once).
func (r *Reader) commit(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if err := cl.CommitRecords(cctx, recs...); err != nil {
		r.metrics.commitErrors.Inc()
		r.logger.Warn("sink: kafka source: commit failed; written records may be read again", "records", len(recs), "err", err)
	}
}

// close leaves the group (bounded, so a dead broker cannot hang shutdown)
// and closes the client.
func (r *Reader) close(cl *kgo.Client) {
	cl.AllowRebalance()
	lctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := cl.LeaveGroupContext(lctx); err != nil {
		r.logger.Debug("sink: kafka source: leave group", "err", err)
	}
	cl.CloseAllowingRebalance()
	r.metrics.clearLag()
}

// forget drops the lag of partitions this member no longer reads.
func (r *Reader) forget(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	for topic, parts := range lost {
		for _, p := range parts {
			r.metrics.dropLag(topic, p)
		}
	}
}

// Pending is the consumer lag: records in this member's partitions not yet
// handed to the sink, as of the last poll.
func (r *Reader) Pending() int64 { return r.metrics.totalLag() }
