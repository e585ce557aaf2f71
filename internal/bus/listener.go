package bus

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/nats-io/nats-server/v2/server"
)

// Connection types a NATS user may be limited to (the names of
// github.com/nats-io/jwt/v2's ConnectionType constants).
const (
	connTypeStandard  = "STANDARD"   // TCP clients
	connTypeInProcess = "IN_PROCESS" // this process's own connection
)

// clientListenerOptions adds the client listener's users and TLS
// (ListenUsers, ListenTLS) to the embedded server's options. It returns
// the credentials of this process's in-process connection: once the server
// has users every client must log in, so the process gets a user of its
// own with a random password that is never written anywhere and that the
// server accepts only in-process (not over TCP). Zero when no users are set.
//
// A clustered server without bus.listen still opens a client listener, on
// loopback (federationOptions: NATS routes only once it listens); it gets
// the internal user alone, so no local process can use it unauthenticated.
// Not when an open leaf listener would then check edges against that user.
func clientListenerOptions(sopts *server.Options, opts Options) (User, error) {
	tc, err := opts.ListenTLS.config("bus.listen_tls")
	if err != nil {
		return User{}, err
	}
	if tc != nil {
		sopts.TLS, sopts.TLSConfig, sopts.TLSTimeout = true, tc, tlsTimeout.Seconds()
		sopts.TLSVerify = opts.ListenTLS.Verify
	}
	routingOnly := opts.Listen == "" && opts.Cluster.enabled() && (opts.LeafListen == "" || len(opts.LeafUsers) > 0)
	if len(opts.ListenUsers) == 0 && !routingOnly {
		return User{}, nil
	}
	self := User{User: "panoptes-internal-" + randomHex(4), Password: randomHex(24)}
	sopts.Users = append(sopts.Users, &server.User{
		Username: self.User, Password: self.Password,
		AllowedConnectionTypes: map[string]struct{}{connTypeInProcess: {}},
	})
	for _, u := range opts.ListenUsers {
		// No account: clients land in the global account, like without
		// auth. TCP only: listen users are not leaf credentials.
		sopts.Users = append(sopts.Users, &server.User{
			Username: u.User, Password: u.Password,
			AllowedConnectionTypes: map[string]struct{}{connTypeStandard: {}},
		})
	}
	return self, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
