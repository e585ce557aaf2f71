package snmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// The SNMPv1/v2c codec of the native client: requests are built backwards
// into a reused buffer (no lengths to patch), responses are read in one pass
// straight into Varbinds. Values are what gosnmp would decode, type for type
// (the differential tests and the fuzz test hold it to that): Integer int,
// Counter32/Gauge32 uint, TimeTicks and Uinteger32 uint32, Counter64 uint64,
// OctetString and Opaque []byte, OID and IpAddress string, no value nil.

// request is one PDU to send.
type request struct {
	pdu     byte     // ber.PDUGet, ber.PDUGetNext or ber.PDUGetBulk
	oids    []string // numeric, with or without the leading dot
	maxReps int      // GETBULK max-repetitions (non-repeaters is 0)
	// dec, when set, decodes the response: a walk keeps one decoder for
	// all its responses, so that their values share larger arenas (see
	// box.go) instead of a few fresh ones per packet. nil: a new one.
	dec *decoder
}

// response is a response PDU's outcome besides its varbinds.
type response struct {
	status gosnmp.SNMPError
	index  int // 1-based error-index
}

// encodeRequest builds the message for req in buf, scratch space that it
// grows as needed, and returns the message (a part of buf) and buf.
func encodeRequest(buf []byte, version int64, community []byte, id int32, req *request) (msg, grown []byte, err error) {
	head := 64 + len(community) // room for every header before the varbinds
	buf = append(buf[:0], make([]byte, head)...)
	for _, o := range req.oids {
		if buf, err = appendNullVarbind(buf, o); err != nil {
			return nil, buf, err
		}
	}
	end := len(buf)
	var a, b int64 // error-status and error-index, or non-repeaters and max-repetitions
	if req.pdu == ber.PDUGetBulk {
		b = int64(req.maxReps)
	}
	pos := ber.PrependHeader(buf, head, ber.TagSequence, end-head)
	pos = ber.PrependInt(buf, pos, b)
	pos = ber.PrependInt(buf, pos, a)
	pos = ber.PrependInt(buf, pos, int64(id))
	pos = ber.PrependHeader(buf, pos, req.pdu, end-pos)
	pos = ber.PrependBytes(buf, pos, ber.TagOctetString, community)
	pos = ber.PrependInt(buf, pos, version)
	pos = ber.PrependHeader(buf, pos, ber.TagSequence, end-pos)
	return buf[pos:end], buf, nil
}

// appendNullVarbind appends SEQUENCE { oid, NULL }.
func appendNullVarbind(dst []byte, oid string) ([]byte, error) {
	var tmp [ber.MaxArcs * 5]byte
	c, err := ber.AppendOIDString(tmp[:0], oid)
	if err != nil {
		return dst, err
	}
	dst = ber.AppendHeader(dst, ber.TagSequence, 1+ber.LenSize(len(c))+len(c)+2)
	dst = ber.AppendHeader(dst, ber.TagOID, len(c))
	dst = append(dst, c...)
	return append(dst, ber.TagNull, 0), nil
}

// header is a v1/v2c message up to its varbind list.
type header struct {
	version   int64
	community []byte
	pdu       byte
	id        int64
	status    int64
	index     int64
	vbl       []byte // the varbind list's content
}

// parseHeader reads a message's header; it fails unless every length agrees.
func parseHeader(pkt []byte, h *header) bool {
	if f := faultForTest.Load(); f != nil {
		(*f)("header", pkt)
	}
	s, e, ok := ber.Expect(pkt, 0, ber.TagSequence)
	if !ok || e != len(pkt) {
		return false
	}
	var i int
	if h.version, i, ok = ber.ReadInt(pkt, s); !ok {
		return false
	}
	cs, ce, ok := ber.Expect(pkt, i, ber.TagOctetString)
	if !ok {
		return false
	}
	h.community = pkt[cs:ce]
	tag, ps, pe, ok := ber.ReadTLV(pkt, ce)
	if !ok || pe != len(pkt) {
		return false
	}
	h.pdu = tag
	if h.id, i, ok = ber.ReadInt(pkt, ps); !ok {
		return false
	}
	if h.status, i, ok = ber.ReadInt(pkt, i); !ok {
		return false
	}
	if h.index, i, ok = ber.ReadInt(pkt, i); !ok {
		return false
	}
	ls, le, ok := ber.Expect(pkt, i, ber.TagSequence)
	if !ok || le != pe {
		return false
	}
	h.vbl = pkt[ls:le]
	return true
}

// outcome is the response part of h (gosnmp keeps both as uint8).
func (h *header) outcome() response {
	return response{status: gosnmp.SNMPError(uint8(h.status)), index: int(uint8(h.index))}
}

// decoder turns a packet's varbinds into Varbinds. Everything it hands
// out lives in a few allocations per packet, or per walk for a walk's
// decoder, which serves all its responses (see box.go), never in the
// packet, whose buffer is reused.
type decoder struct {
	left     int    // bytes of the varbind list not yet decoded, to size slabs
	walk     bool   // it decodes all of a walk's responses: larger slabs
	prevOID  []byte // the last name's OID content and text
	prevText string
	text     []byte
	words    []uint64
	strs     []string
	bytes    [][]byte
	// spentText and spentWords count the text bytes and words of the
	// arenas and slabs this decoder filled and replaced: with the current
	// ones', what its answers took (an Arena's next size).
	spentText, spentWords int
}

var emptyBytes any = []byte{} // gosnmp gives a non-nil empty slice

// errDecoderFault marks the error of an answer whose decoding panicked.
var errDecoderFault = errors.New("decoder fault")

// decodeVarbinds is varbinds for answers off the network: a decoder bug
// that panics on some malformed answer (FuzzDecodeResponse has found such
// inputs) becomes an error for that request, so a faulty or spoofed answer
// yields a polling status, not a crashed node: walks decode in goroutines
// of their own, beyond the runner's recover. Fuzzing calls varbinds
// itself, so that panics stay visible there.
func (d *decoder) decodeVarbinds(vbl []byte, dst []Varbind) (out []Varbind, err error) {
	defer d.recoverFault(dst, &out, &err)
	return d.varbinds(vbl, dst)
}

// recoverFault, deferred, turns a panic while decoding into an error; out
// is then dst as it was before the answer. The decoder is reset (keeping
// its kind), since a panic may have left its slabs half written.
func (d *decoder) recoverFault(dst []Varbind, out *[]Varbind, err *error) {
	if v := recover(); v != nil {
		*d = decoder{walk: d.walk, spentText: d.spentText + len(d.text), spentWords: d.spentWords + len(d.words)}
		*out, *err = dst, fmt.Errorf("%w: %v (a bug in Panoptes' SNMP decoder: please report it with the device's model; panoptes_snmp_decoder_faults_total counts them)", errDecoderFault, v)
	}
}

// faultForTest, when set by a test, runs first in parseHeader ("header")
// and varbinds ("varbinds"): it stands for a decoder bug, so that tests can
// prove the guards above on the real paths (no input is known to make the
// decoder panic).
var faultForTest atomic.Pointer[func(stage string, b []byte)]

// parseHeaderSafely is parseHeader for the shared socket's reader loop,
// where a panic would stop every request on the socket: false on a panic.
func parseHeaderSafely(pkt []byte, h *header) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return parseHeader(pkt, h)
}

// varbinds appends the varbinds of a varbind list's content to dst.
func (d *decoder) varbinds(vbl []byte, dst []Varbind) ([]Varbind, error) {
	if f := faultForTest.Load(); f != nil {
		(*f)("varbinds", vbl)
	}
	d.prevOID, d.prevText = nil, "" // the last packet's: its buffer is reused
	for i := 0; i < len(vbl); {
		d.left = len(vbl) - i
		vs, ve, ok := ber.Expect(vbl, i, ber.TagSequence)
		if !ok {
			return dst, fmt.Errorf("varbind at offset %d: not a well-formed SEQUENCE", i)
		}
		b := vbl[:ve]
		os, oe, ok := ber.Expect(b, vs, ber.TagOID)
		if !ok {
			return dst, fmt.Errorf("varbind at offset %d: no OID", i)
		}
		var vb Varbind
		if vb.Name, ok = d.oidText(b[os:oe]); !ok {
			return dst, fmt.Errorf("varbind at offset %d: bad OID % x", i, b[os:oe])
		}
		if err := d.value(b, oe, &vb); err != nil {
			return dst, fmt.Errorf("varbind %s: %w", vb.Name, err)
		}
		dst = append(dst, vb)
		i = ve
	}
	return dst, nil
}

// oidText is the dotted form of OID content, in the text arena. Names in a
// response mostly share a long prefix with the previous one (the rows of a
// column): that prefix's text is copied rather than formatted again.
func (d *decoder) oidText(c []byte) (string, bool) {
	if string(c) == string(d.prevOID) && d.prevText != "" {
		return d.prevText, true
	}
	d.room(4*len(c) + 5) // the longest text: 4 characters per octet, 5 for the first
	start := len(d.text)
	k := 0
	for k < len(c) && k < len(d.prevOID) && c[k] == d.prevOID[k] {
		k++
	}
	for k > 0 && c[k-1] >= 0x80 { // back to the end of a sub-identifier
		k--
	}
	var ok bool
	if k == 0 {
		d.text, ok = ber.AppendOIDText(d.text, c)
	} else {
		d.text = append(d.text, arcsPrefix(d.prevText, d.prevOID[k:])...)
		d.text, ok = ber.AppendSubIDsText(d.text, c[k:])
	}
	if !ok {
		d.text = d.text[:start]
		return "", false
	}
	d.prevOID, d.prevText = c, d.str(start)
	return d.prevText, true
}

// arcsPrefix is text (".1.3.6.1.2") without the arcs that tail, the end
// of the OID content text was made of, encodes: one per sub-identifier.
// Counting from the end is short: rows of a column differ in their index.
func arcsPrefix(text string, tail []byte) string {
	drop := 0
	for _, c := range tail {
		if c < 0x80 {
			drop++
		}
	}
	i := len(text)
	for ; drop > 0 && i > 0; drop-- {
		i = strings.LastIndexByte(text[:i], '.')
	}
	return text[:max(i, 0)]
}

// value decodes the value TLV at b[i:], which must end at len(b).
func (d *decoder) value(b []byte, i int, vb *Varbind) error {
	tag, s, e, ok := ber.ReadTLV(b, i)
	if !ok && i < len(b) && b[i] == ber.TagOctetString {
		// MikroTik overstates octet strings by one octet, and gosnmp reads
		// them: try the value with one more (a copy: rare).
		padded := append(b[i:len(b):len(b)], 0)
		// The added octet must be content, not header: "04 81" padded is
		// a complete empty string whose header ends past b.
		if _, ps, pe, pok := ber.ReadTLV(padded, 0); pok && pe == len(padded) && i+ps <= len(b) {
			tag, s, e, ok = ber.TagOctetString, i+ps, len(b), true
		}
	}
	if !ok {
		return errors.New("malformed value")
	}
	if e != len(b) {
		return fmt.Errorf("value of %d octets does not fill its varbind (%d)", e-s, len(b)-s)
	}
	c := b[s:e]
	vb.Type = gosnmp.Asn1BER(tag)
	switch tag {
	case ber.TagInteger, ber.TagUinteger32:
		v, ok := ber.DecodeInt(c)
		if !ok {
			return fmt.Errorf("INTEGER of %d octets", len(c))
		}
		if tag == ber.TagUinteger32 {
			vb.Value = boxWord(d, uint32(v))
		} else {
			vb.Value = boxWord(d, int(v))
		}
	case ber.TagCounter32, ber.TagGauge32, ber.TagTimeTicks, ber.TagCounter64:
		v, ok := ber.DecodeUint(c)
		switch {
		case !ok: // gosnmp drops the type and value of an oversized number
			vb.Type = gosnmp.UnknownType
		case tag == ber.TagCounter64:
			vb.Value = boxWord(d, v)
		case tag == ber.TagTimeTicks:
			vb.Value = boxWord(d, uint32(v))
		default:
			vb.Value = boxWord(d, uint(v))
		}
	case ber.TagOctetString:
		vb.Value = d.octets(c)
	case ber.TagOID:
		s, ok := d.oidText(c)
		if !ok {
			return fmt.Errorf("bad OID value % x", c)
		}
		vb.Value = d.boxString(s)
	case ber.TagIPAddress:
		return d.ipAddress(c, vb)
	case ber.TagOpaque:
		return d.opaque(c, vb)
	case ber.TagNull, ber.TagNoSuchObject, ber.TagNoSuchInstance, ber.TagEndOfMibView:
	default:
		vb.Type = gosnmp.UnknownType
	}
	return nil
}

// octets copies c into the text arena as a []byte value.
func (d *decoder) octets(c []byte) any {
	if len(c) == 0 {
		return emptyBytes
	}
	d.room(len(c))
	start := len(d.text)
	d.text = append(d.text, c...)
	return d.boxBytes(d.text[start:len(d.text):len(d.text)])
}

func (d *decoder) ipAddress(c []byte, vb *Varbind) error {
	switch len(c) {
	case 0: // seen from buggy agents; gosnmp gives nil
	case 4:
		d.room(15)
		start := len(d.text)
		for k, x := range c {
			if k > 0 {
				d.text = append(d.text, '.')
			}
			d.text = strconv.AppendUint(d.text, uint64(x), 10)
		}
		vb.Value = d.boxString(d.str(start))
	case 16:
		vb.Value = net.IP(append([]byte(nil), c...)).String()
	default:
		return fmt.Errorf("IpAddress of %d octets, want 4 or 16", len(c))
	}
	return nil
}

// opaque decodes an Opaque as gosnmp does: the float and double of the
// ASN.1 extension (RFC draft "Opaque types") or the raw content.
func (d *decoder) opaque(c []byte, vb *Varbind) error {
	if len(c) == 0 {
		return errors.New("empty Opaque")
	}
	if len(c) > 2 && c[0] == 0x9f && (c[1] == byte(gosnmp.OpaqueFloat) || c[1] == byte(gosnmp.OpaqueDouble)) {
		_, s, e, ok := ber.ReadTLV(c, 1)
		size := 4
		if c[1] == byte(gosnmp.OpaqueDouble) {
			size = 8
		}
		if !ok || e-s != size {
			return fmt.Errorf("Opaque %s of %d octets", gosnmp.Asn1BER(c[1]), e-s)
		}
		vb.Type = gosnmp.Asn1BER(c[1])
		if size == 4 {
			vb.Value = math.Float32frombits(binary.BigEndian.Uint32(c[s:e]))
		} else {
			vb.Value = math.Float64frombits(binary.BigEndian.Uint64(c[s:e]))
		}
		return nil
	}
	vb.Value = d.octets(c)
	return nil
}
