package sim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des" //nolint:gosec // SNMPv3 DES privacy is what old devices speak
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // HMAC-MD5-96 is an SNMPv3 auth protocol
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// V3User is an SNMPv3 USM user. AuthProto is empty (noAuthNoPriv), MD5,
// SHA, SHA224, SHA256, SHA384 or SHA512; PrivProto is empty (no privacy),
// DES, AES, AES192, AES256 (key extension of draft-blumenthal-aes-usm, as
// net-snmp) or AES192C, AES256C (Reeder extension, as Cisco). Names are
// case-insensitive and may contain dashes (SHA-256, AES-256).
type V3User struct {
	Name                string
	AuthProto, AuthPass string
	PrivProto, PrivPass string
}

// String names the user and protocols, never a passphrase.
func (u V3User) String() string {
	return fmt.Sprintf("%s (auth %s, priv %s)", u.Name, or(u.AuthProto, "none"), or(u.PrivProto, "none"))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type authAlg struct {
	name   string
	newH   func() hash.Hash
	macLen int
}

var authAlgs = map[string]*authAlg{
	"MD5":    {"MD5", md5.New, 12},
	"SHA":    {"SHA", sha1.New, 12},
	"SHA1":   {"SHA", sha1.New, 12},
	"SHA224": {"SHA224", sha256.New224, 16},
	"SHA256": {"SHA256", sha256.New, 24},
	"SHA384": {"SHA384", sha512.New384, 32},
	"SHA512": {"SHA512", sha512.New, 48},
}

type privAlg struct {
	name   string
	keyLen int
	des    bool
	reeder bool // key extension: Reeder, else Blumenthal
}

var privAlgs = map[string]*privAlg{
	"DES":     {"DES", 16, true, false},
	"AES":     {"AES", 16, false, false},
	"AES128":  {"AES", 16, false, false},
	"AES192":  {"AES192", 24, false, false},
	"AES256":  {"AES256", 32, false, false},
	"AES192C": {"AES192C", 24, false, true},
	"AES256C": {"AES256C", 32, false, true},
}

// v3Secret is a user with its passphrases turned into keys (RFC 3414
// A.2.1), not yet localized to an engine.
type v3Secret struct {
	name   string
	auth   *authAlg // nil: noAuthNoPriv
	priv   *privAlg // nil: no privacy
	authKu []byte
	privKu []byte
}

// localKeys are a user's keys localized to one device's engine ID.
type localKeys struct {
	auth []byte
	priv []byte
}

func normProto(p string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(p), "-", ""))
}

func newV3Secret(u V3User) (*v3Secret, error) {
	fail := func(format string, a ...any) (*v3Secret, error) {
		return nil, fmt.Errorf("v3 user %q: %s", u.Name, fmt.Sprintf(format, a...))
	}
	if u.Name == "" || len(u.Name) > 32 {
		return fail("want a user name of 1-32 characters")
	}
	s := &v3Secret{name: u.Name}
	if u.AuthProto == "" {
		if u.PrivProto != "" {
			return fail("privacy needs authentication: set an auth protocol")
		}
		return s, nil
	}
	if s.auth = authAlgs[normProto(u.AuthProto)]; s.auth == nil {
		return fail("unknown auth protocol %q (want MD5, SHA, SHA224, SHA256, SHA384 or SHA512)", u.AuthProto)
	}
	if len(u.AuthPass) < 8 {
		return fail("auth passphrase: want at least 8 characters")
	}
	s.authKu = passwordToKey(s.auth.newH, []byte(u.AuthPass))
	if u.PrivProto == "" {
		return s, nil
	}
	if s.priv = privAlgs[normProto(u.PrivProto)]; s.priv == nil {
		return fail("unknown priv protocol %q (want DES, AES, AES192, AES256, AES192C or AES256C)", u.PrivProto)
	}
	if len(u.PrivPass) < 8 {
		return fail("priv passphrase: want at least 8 characters")
	}
	s.privKu = passwordToKey(s.auth.newH, []byte(u.PrivPass))
	return s, nil
}

// passwordToKey hashes 1 MB of the repeated passphrase (RFC 3414 A.2).
func passwordToKey(newH func() hash.Hash, pass []byte) []byte {
	h := newH()
	var chunk [64]byte
	pi := 0
	for n := 0; n < 1<<20; n += 64 {
		for i := range chunk {
			chunk[i] = pass[pi%len(pass)]
			pi++
		}
		h.Write(chunk[:])
	}
	return h.Sum(nil)
}

// localize is H(Ku || engineID || Ku) (RFC 3414 A.2.2).
func localize(newH func() hash.Hash, ku, engine []byte) []byte {
	h := newH()
	h.Write(ku)
	h.Write(engine)
	h.Write(ku)
	return h.Sum(nil)
}

// localKeysFor localizes s's keys to engine, extending the privacy key
// for AES-192/256 when the digest is too short.
func (s *v3Secret) localKeysFor(engine []byte) *localKeys {
	k := &localKeys{}
	if s.auth == nil {
		return k
	}
	k.auth = localize(s.auth.newH, s.authKu, engine)
	if s.priv == nil {
		return k
	}
	p := localize(s.auth.newH, s.privKu, engine)
	for len(p) < s.priv.keyLen {
		if s.priv.reeder {
			p = append(p, localize(s.auth.newH, passwordToKey(s.auth.newH, p), engine)...)
		} else {
			h := s.auth.newH()
			h.Write(p)
			p = h.Sum(p)
		}
	}
	k.priv = p[:s.priv.keyLen]
	return k
}

// keysFor returns the device's localized keys of user u (computed once).
func (d *Device) keysFor(u int) *localKeys {
	if ks := d.keys.Load(); ks != nil {
		return (*ks)[u]
	}
	d.keysMu.Lock()
	defer d.keysMu.Unlock()
	if ks := d.keys.Load(); ks != nil {
		return (*ks)[u]
	}
	ks := make([]*localKeys, len(d.farm.users))
	for i, s := range d.farm.users {
		ks[i] = s.localKeysFor(d.EngineID)
	}
	d.keys.Store(&ks)
	return ks[u]
}

// mac computes the truncated HMAC of msg.
func (a *authAlg) mac(key, msg []byte, out []byte) []byte {
	m := hmac.New(a.newH, key)
	m.Write(msg)
	return m.Sum(out[:0])[:a.macLen]
}

var errDecrypt = errors.New("cannot decrypt")

// decrypt decrypts data in place (RFC 3826 AES-CFB128 with IV = boots ||
// time || salt; RFC 3414 DES-CBC with IV = pre-IV XOR salt).
func (p *privAlg) decrypt(key, salt []byte, boots, etime uint32, data []byte) error {
	if len(salt) != 8 {
		return errDecrypt
	}
	if p.des {
		if len(data)%des.BlockSize != 0 || len(data) == 0 {
			return errDecrypt
		}
		block, err := des.NewCipher(key[:8]) //nolint:gosec
		if err != nil {
			return err
		}
		var iv [8]byte
		for i := range iv {
			iv[i] = key[8+i] ^ salt[i]
		}
		cipher.NewCBCDecrypter(block, iv[:]).CryptBlocks(data, data)
		return nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[0:], boots)
	binary.BigEndian.PutUint32(iv[4:], etime)
	copy(iv[8:], salt)
	cipher.NewCFBDecrypter(block, iv[:]).XORKeyStream(data, data) //nolint:staticcheck // RFC 3826 mandates CFB
	return nil
}

// encrypt encrypts buf[:n] in place (DES pads it to 8 octets; buf must
// have room) and returns the ciphertext length and the salt (privParams).
func (p *privAlg) encrypt(key []byte, saltCounter uint64, boots, etime uint32, buf []byte, n int, salt *[8]byte) (int, error) {
	if p.des {
		binary.BigEndian.PutUint32(salt[0:], boots)
		binary.BigEndian.PutUint32(salt[4:], uint32(saltCounter))
		for n%des.BlockSize != 0 {
			buf[n] = 0
			n++
		}
		block, err := des.NewCipher(key[:8]) //nolint:gosec
		if err != nil {
			return 0, err
		}
		var iv [8]byte
		for i := range iv {
			iv[i] = key[8+i] ^ salt[i]
		}
		cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(buf[:n], buf[:n])
		return n, nil
	}
	binary.BigEndian.PutUint64(salt[:], saltCounter)
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[0:], boots)
	binary.BigEndian.PutUint32(iv[4:], etime)
	copy(iv[8:], salt[:])
	cipher.NewCFBEncrypter(block, iv[:]).XORKeyStream(buf[:n], buf[:n]) //nolint:staticcheck // RFC 3826 mandates CFB
	return n, nil
}
