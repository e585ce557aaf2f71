package kafka

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/sink"
	"github.com/panoptes-go/panoptes/internal/testutil/logbuf"
	"github.com/panoptes-go/panoptes/internal/wire"
)

func TestNewRejectsBadConfig(t *testing.T) {
	const secret = "pa55-w0rd-never-shown"
	good := func() *Config { return &Config{Brokers: []string{"kafka1:9092"}} }
	for _, tc := range []struct {
		name, field string
		mod         func(k *Config) *Config
	}{
		{"missing section", "kafka", func(*Config) *Config { return nil }},
		{"no brokers", "kafka.brokers", func(k *Config) *Config { k.Brokers = nil; return k }},
		{"broker without port", "kafka.brokers[1]", func(k *Config) *Config { k.Brokers = append(k.Brokers, "kafka2"); return k }},
		{"broker bad port", "kafka.brokers[0]", func(k *Config) *Config { k.Brokers = []string{"kafka1:99999"}; return k }},
		{"topic bad chars", "kafka.topic", func(k *Config) *Config { k.Topic = "{site}/processed"; return k }},
		{"global topic bad", "kafka.global_topic", func(k *Config) *Config { k.GlobalTopic = "all metrics"; return k }},
		{"negative timeout", "kafka.timeout", func(k *Config) *Config { k.Timeout = -1; return k }},
		{"password alone", "kafka.username", func(k *Config) *Config { k.Password = secret; return k }},
		{"username alone", "kafka.password", func(k *Config) *Config { k.Username = "panoptes"; return k }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.mod(good()), sink.Deps{Name: "k"})
			var fe *plugin.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *plugin.FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	s, err := sink.Build("kafka", plugin.BlockOf(map[string]any{"kafka": Config{Brokers: []string{"127.0.0.1:1"}}}), sink.Deps{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Sink); !ok {
		t.Fatalf("kafka builds %T", s)
	}
	if !strings.Contains(strings.Join(sink.SourceKinds(), ","), "kafka") {
		t.Errorf("source kinds %v lack kafka", sink.SourceKinds())
	}
}

func TestWriteTopicsKeysValues(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(4, "site1-processed", "site2-processed"))
	s := newSink(t, sinkConfig(c, nil))
	batch := []sink.Record{
		record(group("site1", "sw1", "interface", 100, "interface_name", "Eth1")),
		record(group("site2", "sw9", "cpu", 100, "cpu_no", "0")),
		record(group("site1", "sw2", "interface", 100, "interface_name", "Eth2")),
	}
	batch[1].Group.Resource.Class, batch[1].Group.Resource.Subclass, batch[1].Group.Resource.Type = "network", "router", "juniper"
	batch[1].Data = metric.AppendJSON(nil, batch[1].Group)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}

	site1 := readAll(t, c, "site1-processed", 2)
	site2 := readAll(t, c, "site2-processed", 1)
	byValue := map[string]string{} // value → key
	for _, r := range append(site1, site2...) {
		if len(r.Headers) != 0 {
			t.Errorf("record has headers %v; Panoptes sent none", r.Headers)
		}
		byValue[string(r.Value)] = r.Topic + " " + string(r.Key)
	}
	for _, want := range []struct {
		i        int
		topicKey string
	}{{0, "site1-processed network:switch:cisco"}, {1, "site2-processed network:router:juniper"}, {2, "site1-processed network:switch:cisco"}} {
		got, ok := byValue[string(batch[want.i].Data)]
		if !ok {
			t.Errorf("record %d: value not found byte for byte in Kafka", want.i)
			continue
		}
		if got != want.topicKey {
			t.Errorf("record %d went to %q, want %q", want.i, got, want.topicKey)
		}
	}
	// The value decodes to the same group, 64-bit counter intact.
	g, err := metric.Decode(site2[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := g.Metric("bits_in"); m.Value.Uint64() != 18446744073709551557 {
		t.Errorf("bits_in = %v after the round trip", m.Value)
	}
}

func TestWriteCustomTopicAndGlobal(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "metrics-site1", "panoptes-all"))
	s := newSink(t, sinkConfig(c, func(k *Config) { k.Topic = "metrics-{site}"; k.GlobalTopic = "panoptes-all" }))
	batch := []sink.Record{
		record(group("site1", "sw1", "interface", 100, "interface_name", "Eth1")),
		record(group("site1", "sw1", "interface", 100, "interface_name", "Eth2")),
	}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
	site := readAll(t, c, "metrics-site1", 2)
	global := readAll(t, c, "panoptes-all", 2)
	for i := range site {
		if !bytes.Equal(site[i].Key, []byte("network:switch:cisco")) || !bytes.Equal(global[i].Key, site[i].Key) {
			t.Errorf("keys %q / %q", site[i].Key, global[i].Key)
		}
	}
	// Same series, same partition in both topics (both have 2 partitions).
	part := map[string]int32{}
	for _, r := range site {
		part[string(r.Value)] = r.Partition
	}
	for _, r := range global {
		if p, ok := part[string(r.Value)]; !ok || p != r.Partition {
			t.Errorf("global record on partition %d, site record on %d (found %v)", r.Partition, p, ok)
		}
	}
}

func TestWritePartitionsBySeries(t *testing.T) {
	const partitions, rounds = 8, 5
	c := newCluster(t, kfake.SeedTopics(partitions, "site1-processed"))
	s := newSink(t, sinkConfig(c, nil))

	var series []*metric.Group
	for dev := range 4 {
		for ifc := range 8 {
			series = append(series, group("site1", "sw"+string(rune('a'+dev)), "interface", 0,
				"media_type", "ethernetCsmacd", "interface_name", "Eth1/"+string(rune('0'+ifc))))
		}
	}
	for round := range rounds {
		batch := make([]sink.Record, 0, len(series))
		for _, g := range series {
			gg := *g
			gg.CreationTimestamp = float64(1000 + round)
			batch = append(batch, record(&gg))
		}
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}

	recs := readAll(t, c, "site1-processed", rounds*len(series))
	seriesPart := map[string]int32{}
	lastTS := map[string]float64{}
	used := map[int32]bool{}
	for _, r := range recs {
		g, err := metric.Decode(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		name := seriesName(g)
		if p, ok := seriesPart[name]; ok && p != r.Partition {
			t.Errorf("series %s on partitions %d and %d", name, p, r.Partition)
		}
		seriesPart[name] = r.Partition
		used[r.Partition] = true
		// Within a partition records come in order: each series' groups
		// must arrive oldest first.
		if g.CreationTimestamp <= lastTS[name] {
			t.Errorf("series %s out of order: %v after %v", name, g.CreationTimestamp, lastTS[name])
		}
		lastTS[name] = g.CreationTimestamp

		// The partition is Panoptes' and Kafka's: wire.Murmur2(partitioning key).
		var scratch []metric.Dimension
		want := partitionOf(wire.Murmur2(appendPartitionKey(nil, g, &scratch)), partitions)
		if int(r.Partition) != want {
			t.Errorf("series %s on partition %d, murmur2 says %d", name, r.Partition, want)
		}
	}
	if len(seriesPart) != len(series) {
		t.Errorf("%d series in Kafka, want %d", len(seriesPart), len(series))
	}
	// 32 series over 8 partitions: a coarse key would use 1.
	if len(used) < partitions/2 {
		t.Errorf("series use only %d of %d partitions", len(used), partitions)
	}
}

func TestIdempotentProducer(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	var initPID, produces, badAcks, noPID atomic.Int32
	c.ControlKey(int16(kmsg.InitProducerID), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		initPID.Add(1)
		return nil, nil, false
	})
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		pr := req.(*kmsg.ProduceRequest)
		if pr.Acks != -1 {
			badAcks.Add(1)
		}
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(p.Records); err != nil || b.ProducerID < 0 {
					noPID.Add(1)
				}
			}
		}
		return nil, nil, false
	})
	s := newSink(t, sinkConfig(c, nil))
	if err := s.Write(context.Background(), []sink.Record{record(group("site1", "sw1", "cpu", 1))}); err != nil {
		t.Fatal(err)
	}
	if initPID.Load() == 0 || produces.Load() == 0 {
		t.Fatalf("init producer id requests %d, produce requests %d", initPID.Load(), produces.Load())
	}
	if badAcks.Load() != 0 || noPID.Load() != 0 {
		t.Errorf("%d produce requests without acks=all, %d batches without a producer id", badAcks.Load(), noPID.Load())
	}
}

func TestWriteRejectsPermanentFailures(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	s := newSink(t, sinkConfig(c, nil))

	huge := group("site1", "sw1", "interface", 1)
	for i := range 20000 {
		huge.Dimensions = append(huge.Dimensions, metric.Dimension{Name: "d" + string(rune('a'+i%26)) + strings.Repeat("x", i%7), Value: strings.Repeat("v", 50)})
	}
	noGroup := sink.Record{Subject: "x", Data: []byte(`{"not":"a group"}`)}
	batch := []sink.Record{
		record(group("site1", "sw1", "cpu", 1)),
		record(group("bad site/1", "sw1", "cpu", 1)), // no such topic can exist
		record(huge), // over the 1 MB batch limit
		noGroup,
		record(group("site1", "sw2", "cpu", 1)),
	}
	err := s.Write(context.Background(), batch)
	var rej *sink.Rejected
	if !errors.As(err, &rej) {
		t.Fatalf("Write: %v, want *sink.Rejected", err)
	}
	if len(rej.Reasons) != 3 {
		t.Fatalf("rejected %v, want records 1, 2, 3", rej.Reasons)
	}
	if !errors.Is(rej.Reasons[1], errInvalidTopic) {
		t.Errorf("record 1: %v, want an invalid topic", rej.Reasons[1])
	}
	if !errors.Is(rej.Reasons[2], kerr.MessageTooLarge) {
		t.Errorf("record 2: %v, want MESSAGE_TOO_LARGE", rej.Reasons[2])
	}
	if !errors.Is(rej.Reasons[3], metric.ErrInvalid) {
		t.Errorf("record 3: %v, want an invalid group", rej.Reasons[3])
	}
	// The good records were written.
	readAll(t, c, "site1-processed", 2)
}

func TestWriteRejectsRecordsTheBrokerRefuses(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed", "site2-processed"))
	site2 := topicID(t, c, "site2-processed")
	// The broker refuses site2's records as INVALID_RECORD, once.
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		for _, tp := range pr.Topics {
			if tp.Topic == "site2-processed" || tp.TopicID == site2 {
				return produceError(pr, site2, kerr.InvalidRecord.Code), nil, true
			}
		}
		c.KeepControl() // not this one: wait for the request with site2
		return nil, nil, false
	})
	s := newSink(t, sinkConfig(c, nil))
	err := s.Write(context.Background(), []sink.Record{record(group("site2", "sw1", "cpu", 1))})
	var rej *sink.Rejected
	if !errors.As(err, &rej) {
		t.Fatalf("Write: %v, want *sink.Rejected", err)
	}
	if len(rej.Reasons) != 1 || !errors.Is(rej.Reasons[0], kerr.InvalidRecord) {
		t.Fatalf("rejected %v, want record 0 with INVALID_RECORD", rej.Reasons)
	}
	// The producer goes on: both topics take the next batch.
	batch := []sink.Record{record(group("site1", "sw1", "cpu", 2)), record(group("site2", "sw1", "cpu", 2))}
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write after a rejection: %v", err)
	}
	readAll(t, c, "site1-processed", 1)
	readAll(t, c, "site2-processed", 1)
}

// produceError answers pr with code for every partition of topic and
// NOT_ENOUGH_REPLICAS (retriable) for the others. Produce v13+ names topics
// by ID, older versions by name: either matches.
func produceError(pr *kmsg.ProduceRequest, topic [16]byte, code int16) *kmsg.ProduceResponse {
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	resp.SetVersion(pr.GetVersion())
	for _, tp := range pr.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
		for _, p := range tp.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			if tp.TopicID == topic || (tp.Topic != "" && tp.Topic == topicNames[topic]) {
				rp.ErrorCode = code
			} else {
				rp.ErrorCode = kerr.NotEnoughReplicas.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func TestWriteRetriableFailureIsAnError(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	site1 := topicID(t, c, "site1-processed")
	var refuse atomic.Bool // every partition answers NOT_ENOUGH_REPLICAS
	refuse.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		return produceError(req.(*kmsg.ProduceRequest), site1, kerr.NotEnoughReplicas.Code), nil, true
	})
	s := newSink(t, sinkConfig(c, func(k *Config) { k.Timeout = plugin.Duration(time.Second) }))
	// franz-go retries after a metadata refresh, at most every 5 s by
	// default; a test has no time for that.
	s.opts = append(s.opts, kgo.MetadataMinAge(100*time.Millisecond))
	batch := []sink.Record{record(group("site1", "sw1", "cpu", 1)), record(group("site1", "sw2", "cpu", 1))}

	start := time.Now()
	err := s.Write(context.Background(), batch)
	var rej *sink.Rejected
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Write while the broker refuses: %v, want a retriable error", err)
	}
	if !errors.Is(err, kerr.NotEnoughReplicas) && !strings.Contains(err.Error(), "not acknowledged") {
		t.Errorf("error %v does not say what failed", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Write took %v with a 1s delivery timeout", d)
	}

	refuse.Store(false) // the broker recovers: the retry goes through
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write after recovery: %v", err)
	}
	readAll(t, c, "site1-processed", 2)
}

func TestWriteIsBoundedByContext(t *testing.T) {
	s := newSink(t, &Config{Brokers: []string{"127.0.0.1:1"}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Write(ctx, []sink.Record{record(group("site1", "sw1", "cpu", 1))})
	var rej *sink.Rejected
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Write to no broker: %v, want a retriable error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Write took %v with a 300ms context", d)
	}
}

func TestSASLPasswordNeverShown(t *testing.T) {
	const user, pass = "panoptes", "c0rrect-h0rse-battery"
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"), kfake.EnableSASL(), kfake.Superuser("PLAIN", user, pass))

	var logs logbuf.Buffer
	wrong := sinkConfig(c, func(k *Config) {
		k.Username, k.Password, k.Timeout = user, "wr0ng-"+pass, plugin.Duration(time.Second)
	})
	s, err := New(wrong, sink.Deps{Name: "kafka_test", Logger: testLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = s.Write(ctx, []sink.Record{record(group("site1", "sw1", "cpu", 1))})
	if err == nil {
		t.Fatal("Write with a wrong password succeeded")
	}
	for what, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(text, pass) {
			t.Errorf("%s show the password: %s", what, text)
		}
	}

	good := newSink(t, sinkConfig(c, func(k *Config) { k.Username, k.Password = user, pass }))
	if err := good.Write(context.Background(), []sink.Record{record(group("site1", "sw1", "cpu", 1))}); err != nil {
		t.Fatalf("Write with SASL/PLAIN: %v", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed"))
	s := newSink(t, sinkConfig(c, nil))
	if err := s.Write(context.Background(), []sink.Record{record(group("site1", "sw1", "cpu", 1))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []sink.Record{record(group("site1", "sw1", "cpu", 1))}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestWriteToMissingTopicIsRetried(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "site1-processed")) // no site9 topic, no auto-creation
	s := newSink(t, sinkConfig(c, func(k *Config) { k.Timeout = plugin.Duration(time.Second) }))
	s.opts = append(s.opts, kgo.MetadataMinAge(100*time.Millisecond))
	start := time.Now()
	err := s.Write(context.Background(), []sink.Record{record(group("site9", "sw1", "cpu", 1))})
	var rej *sink.Rejected
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Write to a missing topic: %v, want a retriable error (the topic may be created)", err)
	}
	if !strings.Contains(err.Error(), "site9-processed") {
		t.Errorf("error %q does not name the topic", err)
	}
	t.Logf("failed after %v: %v", time.Since(start), err)
}
