package influxdb

import (
	"strings"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/sink/sinktest"
)

func TestSample(t *testing.T) {
	env := map[string]string{"INFLUX_PASSWORD": "pw-1", "INFLUX_TOKEN": "tok-2"}
	_, sinks := sinktest.LoadSample(t, "sample.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	v1, v2 := sinks["influx"].(*Influx), sinks["influx2"].(*Influx)
	if v1.version != 1 || !strings.HasSuffix(v1.writeURL, "/write?db=panoptes&precision=ms&rp=autogen") || v1.client.Timeout != 5*time.Second || v1.auth == "" {
		t.Errorf("1.x sink: %+v", v1)
	}
	if v2.version != 2 || v2.writeURL != "https://influx.example.com/api/v2/write?bucket=panoptes&org=netops&precision=ms" || v2.auth != "Token tok-2" {
		t.Errorf("2.x sink: %+v", v2)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"sinks:\n  - type: influxdb\n", "bad.yaml:2: sinks[0].influxdb: is missing"},
		{"sinks:\n  - type: influxdb\n    influxdb:\n      url: http://localhost:8086\n      databse: panoptes\n", `bad.yaml:5: sinks[0].influxdb.databse: unknown key "databse"`},
		{"sinks:\n  - type: influxdb\n    influxdb:\n      url: http://u:SECRET@localhost:8086\n      database: d\n", "bad.yaml:4: sinks[0].influxdb.url: holds credentials"},
		{"sinks:\n  - type: influxdb\n    influxdb: {url: \"http://x:8086\", version: 2, org: o, bucket: b}\n", "bad.yaml:3: sinks[0].influxdb.token: is empty"},
	} {
		_, err := config.Parse("bad.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false }, sinktest.Check)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}
