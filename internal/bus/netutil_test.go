package bus_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/testutil/freeport"
	"github.com/panoptes-go/panoptes/internal/testutil/pki"
)

func freePort(t testing.TB) int { return freeport.TCP(t) }

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// testPKI writes a CA and a certificate for 127.0.0.1 and returns the CA,
// certificate and key file paths.
func testPKI(t testing.TB) (caFile, certFile, keyFile string) {
	t.Helper()
	ca := pki.New(t)
	certFile, keyFile = ca.Issue(t, "server")
	return ca.CAFile, certFile, keyFile
}

// waitFor polls cond every 20ms until it is true or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
