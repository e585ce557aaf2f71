package bus

import (
	"reflect"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/config"
)

// TestFromConfig: every field of config.Bus, down to nested sections,
// reaches the Options field of the same name (a field added to one and not
// mapped fails here).
func TestFromConfig(t *testing.T) {
	c := config.Bus{
		URL: "tls://a:4222", Listen: "x:1",
		ListenUsers: []config.BusUser{{User: "poller", Password: "ppw"}},
		ListenTLS:   config.BusServerTLS{CertFile: "nc", KeyFile: "nk", CAFile: "nca", Verify: true},
		MaxAge:      config.Duration(time.Hour), MaxBytes: 1 << 20, Replicas: 3, Partitions: 9,
		User: "u", Password: "p", NKeySeedFile: "n", CredsFile: "c",
		TLS:          config.BusTLS{CAFile: "ca", CertFile: "cert", KeyFile: "key", InsecureSkipVerify: true},
		ConnectRetry: config.Duration(time.Minute),
		Cluster: config.BusCluster{Name: "h", Listen: "y:2", Routes: []string{"nats-route://z:3"}, User: "ru", Password: "rp",
			TLS: config.BusServerTLS{CertFile: "rc", KeyFile: "rk", CAFile: "rca", Verify: true}},
		Domain: "hub", LeafListen: "l:4", LeafAdvertise: "adv:5",
		LeafUsers: []config.BusUser{{User: "ams", Password: "pw"}},
		LeafTLS:   config.BusServerTLS{CertFile: "lc", KeyFile: "lk", CAFile: "lca", Verify: true},
		Leaf: config.BusLeaf{Remotes: []string{"nats-leaf://h:6"}, CredsFile: "lc", User: "lu", Password: "lp",
			TLS: config.BusTLS{CAFile: "eca", CertFile: "ec", KeyFile: "ek", InsecureSkipVerify: true}},
		SourceDomains:  []string{"edge-a"},
		Buffer:         config.BusBuffer{MaxMessages: 7, MaxBytes: 8 << 20, NoSpill: true},
		PublishTimeout: config.Duration(time.Second),
		Compression:    "none",
		Linger:         config.Duration(time.Millisecond),
	}
	o := FromConfig(c, "/data")
	checkMapped(t, "Bus", reflect.ValueOf(c), reflect.ValueOf(o))
	if o.DataDir != "/data" || o.TLS.KeyFile != "key" || o.Buffer.MaxBytes != 8<<20 || o.MaxAge != time.Hour || o.Leaf.CredsFile != "lc" ||
		o.Cluster.TLS.CAFile != "rca" || o.ListenUsers[0].Password != "ppw" || o.ListenTLS.CertFile != "nc" || o.LeafUsers[0].Password != "pw" || o.Leaf.TLS.CAFile != "eca" {
		t.Errorf("FromConfig = %+v", o)
	}
}

// validateOnly are config fields that only `validate` reads (the explicit
// opt-outs of the no-open-door rule): the bus has nothing to do with them.
var validateOnly = map[string]bool{
	"Bus.ListenInsecure": true, "Bus.LeafListenInsecure": true, "Bus.Cluster.Insecure": true,
}

// checkMapped: each non-zero field of cv has a non-zero field of the same
// name in ov; structs and slices of structs are compared field by field.
func checkMapped(t *testing.T, path string, cv, ov reflect.Value) {
	t.Helper()
	for i := 0; i < cv.NumField(); i++ {
		f := cv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name := path + "." + f.Name
		if validateOnly[name] {
			continue
		}
		o := ov.FieldByName(f.Name)
		if !o.IsValid() {
			t.Errorf("config.%s has no Options field of that name", name)
			continue
		}
		c := cv.Field(i)
		switch {
		case c.Kind() == reflect.Struct && o.Kind() == reflect.Struct:
			checkMapped(t, name, c, o)
		case c.Kind() == reflect.Slice && c.Type().Elem().Kind() == reflect.Struct:
			if o.Len() != c.Len() {
				t.Errorf("Options.%s has %d entries, config %d", name, o.Len(), c.Len())
				continue
			}
			for j := 0; j < c.Len(); j++ {
				checkMapped(t, name, c.Index(j), o.Index(j))
			}
		case o.IsZero():
			t.Errorf("Options.%s is zero after FromConfig", name)
		}
	}
}
