package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

// An issued certificate verifies against the CA as a server for 127.0.0.1
// and as a client, and not against another CA.
func TestIssue(t *testing.T) {
	ca, other := New(t), New(t)
	certFile, keyFile := ca.Issue(t, "node")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := func(c *CA) *x509.CertPool {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM(pem) {
			t.Fatal("CA file holds no certificate")
		}
		return p
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool(ca), DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool(other)}); err == nil {
		t.Error("the certificate verifies against another CA")
	}
}
