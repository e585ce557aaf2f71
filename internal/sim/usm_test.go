package sim

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// TestKeyLocalizationVectors: RFC 3414 A.3's test vectors.
func TestKeyLocalizationVectors(t *testing.T) {
	engine, _ := hex.DecodeString("000000000000000000000002")
	for _, c := range []struct{ proto, ku, kul string }{
		{"MD5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"},
		{"SHA", "9fb5cc0381497b3793528939ff788d5d79145211", "6695febc9288e36282235fc7151f128497b38f3f"},
	} {
		s, err := newV3Secret(V3User{Name: "u", AuthProto: c.proto, AuthPass: "maplesyrup"})
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(s.authKu); got != c.ku {
			t.Errorf("%s Ku %s, want %s", c.proto, got, c.ku)
		}
		if got := hex.EncodeToString(s.localKeysFor(engine).auth); got != c.kul {
			t.Errorf("%s Kul %s, want %s", c.proto, got, c.kul)
		}
	}
}

func TestPrivacyRoundTrip(t *testing.T) {
	engine := engineID(3, 99)
	for _, priv := range []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"} {
		s, err := newV3Secret(V3User{Name: "u", AuthProto: "MD5", AuthPass: "auth-pass-1", PrivProto: priv, PrivPass: "priv-pass-1"})
		if err != nil {
			t.Fatal(err)
		}
		k := s.localKeysFor(engine)
		if len(k.priv) != s.priv.keyLen {
			t.Errorf("%s: key of %d octets", priv, len(k.priv))
		}
		plain := []byte("a scoped PDU of some length, not a multiple of eight")
		buf := make([]byte, len(plain)+16)
		copy(buf, plain)
		var salt [8]byte
		n, err := s.priv.encrypt(k.priv, 77, 5, 1234, buf, len(plain), &salt)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf[:n], []byte("scoped")) {
			t.Errorf("%s: not encrypted", priv)
		}
		if err := s.priv.decrypt(k.priv, salt[:], 5, 1234, buf[:n]); err != nil || !bytes.HasPrefix(buf[:n], plain) {
			t.Errorf("%s: round trip %q, %v", priv, buf[:n], err)
		}
	}
}

// TestV3Reports: engine discovery, unknown users and wrong digests get the
// usmStats reports gosnmp and net-snmp expect.
func TestV3Reports(t *testing.T) {
	u := V3User{Name: "sim", AuthProto: "SHA256", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}
	d := testDevice(t, mustRecording(t, "small.snmprec", smallRec), newTestClock(), u)
	discovery := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, PDUType: gosnmp.GetRequest, RequestID: 5, MsgID: 6}
	p := exchange(t, d, discovery)
	if p == nil || p.PDUType != gosnmp.Report || len(p.Variables) != 1 || p.Variables[0].Name != ".1.3.6.1.6.3.15.1.1.4.0" {
		t.Fatalf("discovery: %+v", p)
	}
	sp := p.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if sp.AuthoritativeEngineID != string(d.EngineID) || sp.AuthoritativeEngineBoots != 1 || p.MsgID != 6 || p.RequestID != 5 {
		t.Errorf("discovery report: engine %x boots %d msgID %d reqID %d", sp.AuthoritativeEngineID, sp.AuthoritativeEngineBoots, p.MsgID, p.RequestID)
	}
	// a request the agent cannot authenticate: no reportable flag, no answer
	discovery.MsgFlags = 0
	if p := exchange(t, d, discovery); p != nil {
		t.Errorf("non-reportable discovery answered: %+v", p)
	}
	unknown := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "who", AuthoritativeEngineID: string(d.EngineID), AuthoritativeEngineBoots: 1},
		PDUType:            gosnmp.GetRequest, RequestID: 8, Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}}}
	if p := exchange(t, d, unknown); p == nil || p.Variables[0].Name != ".1.3.6.1.6.3.15.1.1.3.0" {
		t.Errorf("unknown user: %+v", p)
	}
	if d.farm.usm.unknownEngine.Load() != 2 || d.farm.usm.unknownUser.Load() != 1 {
		t.Errorf("usm counters: engine %d user %d", d.farm.usm.unknownEngine.Load(), d.farm.usm.unknownUser.Load())
	}
	if s := (V3User{Name: "x", AuthPass: "secret-auth", PrivPass: "secret-priv", AuthProto: "SHA"}).String(); strings.Contains(s, "secret") {
		t.Errorf("V3User.String shows a secret: %s", s)
	}
}
