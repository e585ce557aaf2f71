package bus

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/panoptes-go/panoptes/internal/config"
)

// The process's own user, with a random password, logs in in-process only:
// over TCP the server refuses it even with the password. Listen users log
// in over TCP.
func TestListenInternalUserInProcessOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	sopts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true}
	self, err := clientListenerOptions(sopts, Options{Listen: "127.0.0.1:0", ListenUsers: []User{{User: "poller", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(self.User, "panoptes-internal-") || len(self.Password) < 32 {
		t.Fatalf("internal user %q with a %d-character password", self.User, len(self.Password))
	}
	if other, _ := clientListenerOptions(&server.Options{}, Options{Listen: "127.0.0.1:0", ListenUsers: []User{{User: "poller", Password: "pw"}}}); other == self {
		t.Error("two servers got the same internal credentials")
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	for _, c := range []struct {
		name      string
		user      User
		inProcess bool
		ok        bool
	}{
		{"internal user in-process", self, true, true},
		{"internal user over TCP", self, false, false},
		{"listen user over TCP", User{User: "poller", Password: "pw"}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := []nats.Option{nats.UserInfo(c.user.User, c.user.Password), nats.Timeout(5 * time.Second)}
			url := srv.ClientURL()
			if c.inProcess {
				opts, url = append(opts, nats.InProcessServer(srv)), ""
			}
			nc, err := nats.Connect(url, opts...)
			if err == nil {
				nc.Close()
			}
			if (err == nil) != c.ok {
				t.Errorf("connect: %v; want ok=%v", err, c.ok)
			}
		})
	}
}

// ListenClient: a tool with a node's config uses bus.user when set, else
// the first listen user; the listener's CA (and its certificate when it
// verifies clients) unless bus.tls is set; no TLS without listen_tls.
func TestListenClient(t *testing.T) {
	c := config.Bus{
		ListenUsers: []config.BusUser{{User: "status", Password: "spw"}, {User: "poller", Password: "ppw"}},
		ListenTLS:   config.BusServerTLS{CertFile: "node.pem", KeyFile: "node-key.pem", CAFile: "ca.pem", Verify: true},
	}
	o := ListenClient(c, "tls://127.0.0.1:4222")
	if o.URL != "tls://127.0.0.1:4222" || o.User != "status" || o.Password != "spw" ||
		o.TLS != (TLS{CAFile: "ca.pem", CertFile: "node.pem", KeyFile: "node-key.pem"}) {
		t.Errorf("from listen_users and listen_tls: %+v", o)
	}
	c.User, c.Password, c.TLS = "ops", "opw", config.BusTLS{CAFile: "ops-ca.pem"}
	if o := ListenClient(c, "x"); o.User != "ops" || o.Password != "opw" || o.TLS != (TLS{CAFile: "ops-ca.pem"}) {
		t.Errorf("bus.user and bus.tls win: %+v", o)
	}
	c.ListenTLS.Verify = false
	c.TLS = config.BusTLS{}
	if o := ListenClient(c, "x"); o.TLS != (TLS{CAFile: "ca.pem"}) {
		t.Errorf("without verify no client certificate: %+v", o.TLS)
	}
	c.ListenTLS = config.BusServerTLS{}
	c.TLS = config.BusTLS{CAFile: "hub-ca.pem"} // an edge's TLS to the hub
	if o := ListenClient(c, "x"); o.TLS.enabled() {
		t.Errorf("a listener without TLS got client TLS %+v", o.TLS)
	}
}
