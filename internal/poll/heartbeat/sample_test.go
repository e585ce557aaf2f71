package heartbeat

import (
	"testing"

	"github.com/panoptes-go/panoptes/internal/poll/polltest"
)

func TestSample(t *testing.T) {
	_, plugins := polltest.Load(t, "sample.yaml")
	h, ok := plugins["heartbeat"].(*Heartbeat)
	if !ok || !h.snmpUptime || h.NoSNMP() {
		t.Fatalf("heartbeat = %#v, want snmp_uptime from the sample", plugins["heartbeat"])
	}
}

func TestBadOptions(t *testing.T) {
	polltest.BadOptions(t, map[string]string{
		"polling:\n  plugins:\n    - plugin: heartbeat\n      options:\n        snmp_uptime: sometimes\n": `bad.yaml:6: polling.plugins[0].options.snmp_uptime: "sometimes" is a string, want true or false`,
	})
}
