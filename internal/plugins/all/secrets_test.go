package all

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/node"
	"github.com/panoptes-go/panoptes/internal/sink/influxdb"
	"github.com/panoptes-go/panoptes/internal/sink/kafka"
	"github.com/panoptes-go/panoptes/internal/sink/prometheus"
)

// Every secret of the sinks may come from a file too (<key>_file, relative
// to the config): the plugin decoding its block reads it.
func TestPluginSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"token": "influx-token\n", "bearer": "bearer-token\n", "kafka": "kafka-pw\n", "source": "source-pw\n", "influxpw": "influx-pw\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	y := `sinks:
  - {name: i2, type: influxdb, influxdb: {url: "http://x:8086", version: 2, org: o, bucket: b, token_file: token}}
  - {name: i1, type: influxdb, influxdb: {url: "http://x:8086", database: d, username: u, password_file: influxpw}}
  - {name: rw, type: prometheus_remote_write, prometheus: {url: "http://x/api/v1/write", bearer_token_file: bearer}}
  - name: k
    type: kafka
    kafka: {brokers: ["k:9092"], username: u, password_file: kafka}
    source:
      kafka: {brokers: ["k:9092"], topics: [t], username: u, password_file: source}
`
	cfg, err := config.Parse(filepath.Join(dir, "p.yaml"), []byte(y), noEnv, node.Check)
	if err != nil {
		t.Fatal(err)
	}
	var i2, i1 struct {
		InfluxDB *influxdb.Config `yaml:"influxdb"`
	}
	var rw struct {
		Prometheus *prometheus.Config `yaml:"prometheus"`
	}
	var k struct {
		Kafka *kafka.Config `yaml:"kafka"`
	}
	var src kafka.SourceConfig
	for _, err := range []error{cfg.Sinks[0].Options.Decode(&i2), cfg.Sinks[1].Options.Decode(&i1), cfg.Sinks[2].Options.Decode(&rw),
		cfg.Sinks[3].Options.Decode(&k), cfg.Sinks[3].Source["kafka"].Decode(&src)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for what, got := range map[string][2]string{
		"influxdb.token":          {i2.InfluxDB.Token, "influx-token"},
		"influxdb.password":       {i1.InfluxDB.Password, "influx-pw"},
		"prometheus.bearer_token": {rw.Prometheus.BearerToken, "bearer-token"},
		"kafka.password":          {k.Kafka.Password, "kafka-pw"},
		"source.kafka.password":   {src.Password, "source-pw"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", what, got[0], got[1])
		}
	}
	bad := "sinks:\n  - {name: i, type: influxdb, influxdb: {url: \"http://x:8086\", version: 2, org: o, bucket: b, token: t, token_file: token}}\n"
	_, err = config.Parse(filepath.Join(dir, "bad.yaml"), []byte(bad), noEnv, node.Check)
	if want := filepath.Join(dir, "bad.yaml") + ":2: sinks[0].influxdb.token_file: is set together with token; give one of them"; err == nil || err.Error() != want {
		t.Errorf("both set: %v\nwant %s", err, want)
	}
}
