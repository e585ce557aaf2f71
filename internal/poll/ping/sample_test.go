package ping

import (
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

func TestSample(t *testing.T) {
	_, plugins := polltest.Load(t, "sample.yaml")
	p, ok := plugins["ping"].(*Ping)
	if !ok || p.count != 3 || p.interval != 500*time.Millisecond || p.timeout != 2*time.Second {
		t.Fatalf("ping = %#v, want the sample's options", plugins["ping"])
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: ping\n      options:\n        count: 0\n":       "bad.yaml:6: polling.plugins[0].options.count: 0 is out of range 1..100",
		"polling:\n  plugins:\n    - plugin: ping\n      options:\n        timeout: 2m\n":    "bad.yaml:6: polling.plugins[0].options.timeout: 2m0s is out of range 1ms..1m",
		"polling:\n  plugins:\n    - plugin: ping\n      options:\n        interval: soon\n": `bad.yaml:6: polling.plugins[0].options.interval: "soon" is not a duration (write e.g. 30s, 5m, 1h)`,
	})
}
