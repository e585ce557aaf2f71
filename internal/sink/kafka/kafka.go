// Package kafka is the Kafka sink and source. The sink publishes every
// metrics group to Panoptes-compatible topics ("<site>-processed", key
// "<class>:<subclass>:<type>", value the Panoptes JSON unchanged), one series
// per partition; the source feeds a sink from Kafka topics with a consumer
// group, committing offsets only after the sink's write succeeded.
package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// DefaultTimeout bounds how long a record may wait for its acknowledgement
// (franz-go's record delivery timeout) when kafka.timeout is zero.
const DefaultTimeout = 30 * time.Second

func init() {
	sink.Register("kafka", func(options plugin.Block, deps sink.Deps) (sink.Sink, error) {
		var b struct {
			Kafka *Config `yaml:"kafka"`
		}
		if err := options.Decode(&b); err != nil {
			return nil, err
		}
		return New(b.Kafka, deps)
	})
}

// Config is a Kafka destination with Panoptes-compatible topics: the
// sink's kafka section.
type Config struct {
	Brokers []string `yaml:"brokers"`
	// Topic is a template; {site} is replaced by the resource's site.
	Topic       string          `yaml:"topic"`        // default "{site}-processed"
	GlobalTopic string          `yaml:"global_topic"` // optional: every group also goes here
	ClientID    string          `yaml:"client_id"`
	Timeout     plugin.Duration `yaml:"timeout"`
	Username    string          `yaml:"username"` // SASL/PLAIN when set
	Password    string          `yaml:"password" secret:"true"`
	TLS         bool            `yaml:"tls"`
}

// Sink produces metrics groups to Kafka with an idempotent producer
// (acks=all), one partition per series.
type Sink struct {
	name   string
	opts   []kgo.Opt
	site   *topicTemplate
	global string // "" = no global topic

	mu     sync.Mutex // one Write at a time; guards the client and the scratch below
	client *kgo.Client
	closed bool
	ptrs   []*kgo.Record
	pkey   []byte
	dims   []metric.Dimension
}

var (
	_ sink.Sink   = (*Sink)(nil)
	_ sink.Closer = (*Sink)(nil)
)

// New checks k (the kafka section; nil when missing) and returns the sink
// named deps.Name. It connects to nothing: the producer is created by the
// first Write. Field errors name kafka.<key>.
func New(k *Config, deps sink.Deps) (*Sink, error) {
	if k == nil {
		return nil, fieldErr("kafka", "section is missing; set kafka.brokers (and optionally kafka.topic)")
	}
	if err := checkBrokers("kafka.brokers", k.Brokers); err != nil {
		return nil, err
	}
	site, err := newTopicTemplate("kafka.topic", k.Topic)
	if err != nil {
		return nil, err
	}
	if k.GlobalTopic != "" {
		if err := checkTopic(k.GlobalTopic); err != nil {
			return nil, fieldErr("kafka.global_topic", err.Error())
		}
	}
	if k.Timeout < 0 {
		return nil, fieldErr("kafka.timeout", fmt.Sprintf("%v is negative", k.Timeout.D()))
	}
	if err := checkCredentials("kafka.", k.Username, k.Password); err != nil {
		return nil, err
	}
	timeout := k.Timeout.D()
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("kafka_topic", site.tmpl)
	conn := connection{brokers: k.Brokers, clientID: k.ClientID, username: k.Username, password: k.Password, tls: k.TLS}
	opts := append(conn.opts(logger),
		// Idempotent writes are franz-go's default and need acks=all; say
		// both so that no later default change weakens them silently.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(seriesPartitioner{}),
		kgo.RecordDeliveryTimeout(timeout),
		// Panoptes relied on auto-created topics; brokers that disable it
		// answer UNKNOWN_TOPIC_OR_PARTITION, which is retried.
		kgo.AllowAutoTopicCreation(),
	)
	return &Sink{name: deps.Name, opts: opts, site: site, global: k.GlobalTopic}, nil
}

// Write produces every group of batch to its site topic (and the global
// topic) and waits until Kafka acknowledged them all, or ctx is done.
// Records Kafka refuses for good (too large, invalid topic or record) are
// returned as *sink.Rejected; any other failure is returned as an error and
// the whole batch is retried (records already acknowledged then appear
// twice: delivery is at least once).
func (s *Sink) Write(ctx context.Context, batch []sink.Record) error {
	if len(batch) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, err := s.clientLocked()
	if err != nil {
		return err
	}
	rejected := map[int]error{}
	s.build(ctx, batch, rejected)
	defer s.release()
	if len(s.ptrs) == 0 {
		return &sink.Rejected{Reasons: rejected}
	}

	var failed int
	var firstErr error
	for _, res := range cl.ProduceSync(ctx, s.ptrs...) {
		if res.Err == nil {
			continue
		}
		i := res.Record.Context.(*seriesCtx).idx
		if permanent(res.Err) {
			rejected[i] = fmt.Errorf("topic %s: %w", res.Record.Topic, res.Err)
			continue
		}
		failed++
		if firstErr == nil {
			firstErr = fmt.Errorf("topic %s: %w", res.Record.Topic, res.Err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("kafka: %d of %d records not acknowledged: %w", failed, len(s.ptrs), firstErr)
	}
	if len(rejected) > 0 {
		return &sink.Rejected{Reasons: rejected}
	}
	return nil
}

// build turns batch into records in s.ptrs, noting records that cannot be
// produced at all in rejected.
func (s *Sink) build(ctx context.Context, batch []sink.Record, rejected map[int]error) {
	per := 1
	if s.global != "" {
		per = 2
	}
	// Records and their contexts are fresh per batch: franz-go may still
	// read a record's context after ProduceSync returned (a goroutine
	// waiting for an unknown topic), so they are never reused.
	n := len(batch) * per
	recs := make([]kgo.Record, n)
	ctxs := make([]seriesCtx, n)
	s.ptrs = s.ptrs[:0]
	// Keys live in one buffer; a record keeps its slice even after the
	// buffer grows into a new array.
	keys := make([]byte, 0, 32*len(batch))

	j := 0
	for i := range batch {
		g, value, err := groupOf(&batch[i])
		if err != nil {
			rejected[i] = err
			continue
		}
		topic, err := s.site.topic(g.Resource.Site)
		if err != nil {
			rejected[i] = err
			continue
		}
		start := len(keys)
		keys = appendMessageKey(keys, g)
		key := keys[start:len(keys):len(keys)]
		s.pkey = appendPartitionKey(s.pkey[:0], g, &s.dims)
		hash := wire.Murmur2(s.pkey)

		topics := [2]string{topic, s.global}
		for _, t := range topics[:per] {
			ctxs[j] = seriesCtx{Context: ctx, hash: hash, idx: i}
			recs[j] = kgo.Record{Topic: t, Key: key, Value: value, Context: &ctxs[j]}
			s.ptrs = append(s.ptrs, &recs[j])
			j++
		}
	}
}

// release drops the batch's references so an idle sink holds no data.
func (s *Sink) release() {
	clear(s.ptrs)
	s.ptrs = s.ptrs[:0]
}

// groupOf returns the record's group and its Panoptes JSON. The bus
// delivers both; a record without its group is decoded, one without its
// JSON is encoded.
func groupOf(r *sink.Record) (*metric.Group, []byte, error) {
	g := r.Group
	if g == nil {
		if len(r.Data) == 0 {
			return nil, nil, fmt.Errorf("%w: empty message", metric.ErrInvalid)
		}
		var err error
		if g, err = metric.Decode(r.Data); err != nil {
			return nil, nil, err
		}
	}
	if g.Resource == nil {
		return nil, nil, fmt.Errorf("%w: resource is missing", metric.ErrInvalid)
	}
	value := r.Data
	if len(value) == 0 {
		value = metric.AppendJSON(nil, g)
	}
	return g, value, nil
}

// clientLocked returns the producer, creating it on first use.
func (s *Sink) clientLocked() (*kgo.Client, error) {
	if s.closed {
		return nil, fmt.Errorf("kafka: sink %s is closed", s.name)
	}
	if s.client == nil {
		cl, err := kgo.NewClient(s.opts...)
		if err != nil {
			return nil, fmt.Errorf("kafka: create producer: %w", err)
		}
		s.client = cl
	}
	return s.client, nil
}

// Close closes the producer. Write waits for its records, so nothing is
// buffered by then.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	return nil
}
