package kafka

import (
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink"
	_ "github.com/panoptes-go/panoptes/internal/sink/influxdb" // the sample reads Kafka into InfluxDB
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
)

func TestSample(t *testing.T) {
	env := func(k string) (string, bool) { return "pw", k == "KAFKA_PASSWORD" }
	cfg, sinks := sinktest.LoadSample(t, "sample.yaml", env)
	k := sinks["kafka"].(*Sink)
	if k.site.tmpl != "{site}-processed" || k.global != "panoptes-all" || k.name != "kafka" {
		t.Errorf("kafka sink: %q %q %q", k.site.tmpl, k.global, k.name)
	}
	s := cfg.Sinks[1]
	var c SourceConfig
	if err := s.Source["kafka"].Decode(&c); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(c, sink.SourceDeps{Deps: sink.Deps{Name: s.Name}, BatchSize: s.BatchSize})
	if err != nil || r.group != "panoptes-influx" || strings.Join(r.topics, ",") != "site1-processed" || r.batchSize != 200 {
		t.Errorf("kafka source: %+v, %v", r, err)
	}
}

func TestSampleBadConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"sinks:\n  - type: kafka\n    kafka: {brokers: [kafka1]}\n", "bad.yaml:3: sinks[0].kafka.brokers[0]: \"kafka1\" is not host:port"},
		{"sinks:\n  - type: kafka\n    kafka:\n      brokers: [k:9092]\n      passwrd: x\n", `bad.yaml:5: sinks[0].kafka.passwrd: unknown key "passwrd"`},
		{"sinks:\n  - type: kafka\n    kafka: {brokers: [\"k:9092\"]}\n    source:\n      kafka:\n        brokers: [k:9092]\n        topics: [a b]\n", `bad.yaml:7: sinks[0].source.kafka.topics[0]: invalid Kafka topic "a b"`},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, sinktest.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
