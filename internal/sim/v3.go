package sim

import (
	"crypto/subtle"
	"sync/atomic"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// usmStats OIDs (SNMP-USER-BASED-SM-MIB usmStats, RFC 3414), reported to a
// manager whose message the agent cannot accept.
var (
	usmUnsupportedSecLevels = []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0}
	usmNotInTimeWindows     = []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0}
	usmUnknownUserNames     = []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0}
	usmUnknownEngineIDs     = []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0}
	usmWrongDigests         = []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0}
)

// usmCounters back the usmStats values; salt makes privacy salts unique.
type usmCounters struct {
	unsupported, notInTime, unknownUser, unknownEngine, wrongDigest atomic.Uint32
	salt                                                            atomic.Uint64
}

// msgFlags bits.
const (
	flagAuth       = 1
	flagPriv       = 2
	flagReportable = 4
)

// v3msg is a parsed SNMPv3 message; slices point into the request.
type v3msg struct {
	msgID, maxSize int64
	flags          byte
	engineID       []byte
	boots, time    int64
	user           []byte
	authParams     []byte
	privParams     []byte
	data           []byte // encrypted scoped PDU (priv) or scoped PDU TLV
	ctxEngineID    []byte
	ctxName        []byte
}

// parseV3 reads an SNMPv3 message after its version (at req[i:]).
func parseV3(req []byte, i int) (m v3msg, ok bool) {
	gs, ge, ok := ber.Expect(req, i, ber.TagSequence)
	if !ok {
		return m, false
	}
	var j int
	if m.msgID, j, ok = ber.ReadInt(req, gs); !ok {
		return m, false
	}
	if m.maxSize, j, ok = ber.ReadInt(req, j); !ok {
		return m, false
	}
	fs, fe, ok := ber.Expect(req, j, ber.TagOctetString)
	if !ok || fe-fs != 1 {
		return m, false
	}
	m.flags = req[fs]
	model, j, ok := ber.ReadInt(req, fe)
	if !ok || model != 3 || j != ge { // only the USM security model
		return m, false
	}
	ps, pe, ok := ber.Expect(req, ge, ber.TagOctetString)
	if !ok {
		return m, false
	}
	ss, _, ok := ber.Expect(req, ps, ber.TagSequence)
	if !ok {
		return m, false
	}
	octets := func(k int) ([]byte, int, bool) {
		s, e, ok := ber.Expect(req, k, ber.TagOctetString)
		return req[s:e], e, ok
	}
	if m.engineID, j, ok = octets(ss); !ok {
		return m, false
	}
	if m.boots, j, ok = ber.ReadInt(req, j); !ok {
		return m, false
	}
	if m.time, j, ok = ber.ReadInt(req, j); !ok {
		return m, false
	}
	if m.user, j, ok = octets(j); !ok || len(m.user) > 32 {
		return m, false
	}
	if m.authParams, j, ok = octets(j); !ok {
		return m, false
	}
	if m.privParams, _, ok = octets(j); !ok {
		return m, false
	}
	tag, ds, de, ok := ber.ReadTLV(req, pe)
	if !ok || de != len(req) {
		return m, false
	}
	if m.flags&flagPriv != 0 {
		if tag != ber.TagOctetString {
			return m, false
		}
		m.data = req[ds:de]
	} else {
		if tag != ber.TagSequence {
			return m, false
		}
		m.data = req[pe:de]
	}
	return m, true
}

// scopedPDU parses a plaintext scoped PDU at b[0:] (DES padding may follow).
func (s *scratch) scopedPDU(b []byte, m *v3msg, p *pdu) bool {
	ss, se, ok := ber.Expect(b, 0, ber.TagSequence)
	if !ok {
		return false
	}
	es, ee, ok := ber.Expect(b, ss, ber.TagOctetString)
	if !ok {
		return false
	}
	ns, ne, ok := ber.Expect(b, ee, ber.TagOctetString)
	if !ok || ne-ns > 255 {
		return false
	}
	m.ctxEngineID, m.ctxName = b[es:ee], b[ns:ne]
	return s.parsePDU(b[:se], ne, p)
}

// serveUSM answers an SNMPv3 message (RFC 3412/3414) whose global data
// starts at req[i:]: engine discovery and USM errors get reports, the rest
// is answered like v2c.
func (d *Device) serveUSM(s *scratch, req []byte, i int, hint *int, now int64) ([]byte, int, dropReason) {
	m, ok := parseV3(req, i)
	if !ok || m.flags&(flagAuth|flagPriv) == flagPriv {
		return nil, 0, dropMalformed
	}
	f := d.farm
	l := d.life.Load()
	etime := l.engineTime(now)
	var p pdu
	plainOK := m.flags&flagPriv == 0 && s.scopedPDU(m.data, &m, &p)
	report := func(oid []uint32, c *atomic.Uint32, u int, flags byte) ([]byte, int, dropReason) {
		n := c.Add(1)
		if m.flags&flagReportable == 0 {
			return nil, 0, dropUSM
		}
		if !plainOK {
			p = pdu{reqID: []byte{0}}
		}
		return d.reportV3(s, &m, &p, oid, n, u, flags, l, etime), 0, answered
	}
	if len(m.engineID) == 0 || subtle.ConstantTimeCompare(m.engineID, d.EngineID) != 1 {
		return report(usmUnknownEngineIDs, &f.usm.unknownEngine, -1, 0)
	}
	u := -1
	for k, sec := range f.users {
		if sec.name == string(m.user) {
			u = k
			break
		}
	}
	if u < 0 {
		return report(usmUnknownUserNames, &f.usm.unknownUser, -1, 0)
	}
	sec := f.users[u]
	if (m.flags&flagAuth != 0 && sec.auth == nil) || (m.flags&flagPriv != 0 && sec.priv == nil) {
		return report(usmUnsupportedSecLevels, &f.usm.unsupported, -1, 0)
	}
	var keys *localKeys
	if m.flags&flagAuth != 0 {
		keys = d.keysFor(u)
		if len(m.authParams) != sec.auth.macLen {
			return report(usmWrongDigests, &f.usm.wrongDigest, -1, 0)
		}
		var got, want [64]byte
		copy(got[:], m.authParams)
		clear(m.authParams) // in the request buffer, which we own
		mac := sec.auth.mac(keys.auth, req, want[:])
		copy(m.authParams, got[:len(mac)])
		if !hmacEqual(mac, got[:len(mac)]) {
			return report(usmWrongDigests, &f.usm.wrongDigest, -1, 0)
		}
		if m.boots != int64(l.boots) || m.time < int64(etime)-150 || m.time > int64(etime)+150 {
			return report(usmNotInTimeWindows, &f.usm.notInTime, u, flagAuth)
		}
	}
	if m.flags&flagPriv != 0 {
		s.plain = append(s.plain[:0], m.data...)
		if sec.priv.decrypt(keys.priv, m.privParams, uint32(m.boots), uint32(m.time), s.plain) != nil ||
			!s.scopedPDU(s.plain, &m, &p) {
			return nil, 0, dropUSM // as net-snmp: what cannot be decrypted is dropped
		}
	} else if !plainOK {
		return nil, 0, dropMalformed
	}
	level := m.flags & (flagAuth | flagPriv)
	start := 512 + len(m.ctxName) + len(m.user)
	s.grow(start + f.maxMsg)
	// what the message adds around the varbinds: headers, engine IDs, user,
	// context, MAC, salt and DES padding
	overhead := 160 + 2*len(d.EngineID) + len(m.user) + len(m.ctxName) + 64
	limit := int(min(max(m.maxSize, 484), int64(f.maxMsg))) - overhead
	var a answer
	if want := userLevel(sec); level < want {
		a = answer{buf: s.out, errStat: errAuthorization} // as net-snmp's VACM for a weaker level
	} else {
		a = d.answerPDU(s, &p, false, now, s.out, start, limit, hint)
		if a.drop {
			return nil, 0, dropMalformed
		}
	}
	buf, pos, end := finishPDU(&a, &p, start)
	s.keep(buf)
	return d.wrapV3(s, &m, pos, end, u, level, l, etime), a.count, answered
}

func userLevel(s *v3Secret) byte {
	switch {
	case s.priv != nil:
		return flagAuth | flagPriv
	case s.auth != nil:
		return flagAuth
	}
	return 0
}

func hmacEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// reportV3 builds a Report PDU with one usmStats counter.
func (d *Device) reportV3(s *scratch, m *v3msg, p *pdu, oid []uint32, n uint32, u int, flags byte, l *life, etime uint32) []byte {
	start := 512 + len(m.ctxName) + len(m.user)
	s.grow(start + 256)
	dst := s.out[:start]
	content := ber.AppendOID(s.plain[:0], oid) // s.plain is free here
	dst = ber.AppendHeader(dst, ber.TagSequence, 2+len(content)+2+ber.UintSize(uint64(n)))
	dst = ber.AppendHeader(dst, ber.TagOID, len(content))
	dst = append(dst, content...)
	dst = ber.AppendUint(dst, ber.TagCounter32, uint64(n))
	a := answer{buf: dst, end: len(dst)}
	buf, pos, end := finishPDU(&a, p, start)
	buf[pos] = ber.PDUReport
	s.keep(buf)
	d.stats.reports.Add(1)
	return d.wrapV3(s, m, pos, end, u, flags, l, etime)
}

// wrapV3 wraps the PDU at s.out[pos:end] into a scoped PDU and an SNMPv3
// message for user u (-1: none) at the security level in flags, encrypting
// and authenticating as needed, and returns the message.
func (d *Device) wrapV3(s *scratch, m *v3msg, pos, end int, u int, flags byte, l *life, etime uint32) []byte {
	buf := s.out
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, m.ctxName)
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, d.EngineID)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, end-pos)
	var sec *v3Secret
	var keys *localKeys
	if u >= 0 {
		sec, keys = d.farm.users[u], d.keysFor(u)
	}
	var salt [8]byte
	var privParams []byte
	if flags&flagPriv != 0 {
		n, err := sec.priv.encrypt(keys.priv, d.farm.usm.salt.Add(1), l.boots, etime, buf[pos:], end-pos, &salt)
		if err != nil {
			return nil
		}
		end = pos + n
		pos = ber.PrependHeader(buf, pos, ber.TagOctetString, n)
		privParams = salt[:]
	}
	dataStart := pos
	// msgSecurityParameters, written backwards: the authParams slot keeps
	// its place while the fields before it are prepended.
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, privParams)
	macLen := 0
	if flags&flagAuth != 0 {
		macLen = sec.auth.macLen
	}
	pos -= macLen
	macAt := pos
	clear(buf[macAt : macAt+macLen])
	pos = ber.PrependHeader(buf, pos, ber.TagOctetString, macLen)
	user := m.user
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, user)
	pos = ber.PrependInt(buf, pos, int64(etime))
	pos = ber.PrependInt(buf, pos, int64(l.boots))
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, d.EngineID)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, dataStart-pos)
	pos = ber.PrependHeader(buf, pos, ber.TagOctetString, dataStart-pos)
	// msgGlobalData
	gEnd := pos
	pos = ber.PrependInt(buf, pos, 3)
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, []byte{flags})
	pos = ber.PrependInt(buf, pos, int64(d.farm.maxMsg))
	pos = ber.PrependInt(buf, pos, m.msgID)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, gEnd-pos)
	pos = ber.PrependInt(buf, pos, 3)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, end-pos)
	if macLen > 0 {
		var mac [64]byte
		copy(buf[macAt:], sec.auth.mac(keys.auth, buf[pos:end], mac[:]))
	}
	return buf[pos:end]
}
