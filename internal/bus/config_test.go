package bus

import (
	"reflect"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

// TestFromConfig: every field of config.Bus reaches Options (a field added
// to one and not mapped fails here).
func TestFromConfig(t *testing.T) {
	c := config.Bus{
		URL: "tls://a:4222", Listen: "x:1", MaxAge: config.Duration(time.Hour), MaxBytes: 1 << 20, Replicas: 3,
		User: "u", Password: "p", NKeySeedFile: "n", CredsFile: "c",
		TLS:          config.BusTLS{CAFile: "ca", CertFile: "cert", KeyFile: "key", InsecureSkipVerify: true},
		ConnectRetry: config.Duration(time.Minute),
		Cluster:      config.BusCluster{Name: "h", Listen: "y:2", Routes: []string{"nats-route://z:3"}},
		Domain:       "hub", LeafListen: "l:4", LeafAdvertise: "adv:5",
		Leaf:           config.BusLeaf{Remotes: []string{"nats-leaf://h:6"}, CredsFile: "lc"},
		SourceDomains:  []string{"edge-a"},
		Buffer:         config.BusBuffer{MaxMessages: 7, MaxBytes: 8 << 20, NoSpill: true},
		PublishTimeout: config.Duration(time.Second),
	}
	o := FromConfig(c, "/data")
	// Each non-zero config field must make the corresponding option non-zero.
	cv := reflect.ValueOf(c)
	for i := 0; i < cv.NumField(); i++ {
		name := cv.Type().Field(i).Name
		ov := reflect.ValueOf(o).FieldByName(name)
		if !ov.IsValid() {
			t.Errorf("config.Bus.%s has no Options field of that name", name)
			continue
		}
		if ov.IsZero() {
			t.Errorf("Options.%s is zero after FromConfig", name)
		}
	}
	if o.DataDir != "/data" || o.TLS.KeyFile != "key" || o.Buffer.MaxBytes != 8<<20 || o.MaxAge != time.Hour || o.Leaf.CredsFile != "lc" {
		t.Errorf("FromConfig = %+v", o)
	}
}
