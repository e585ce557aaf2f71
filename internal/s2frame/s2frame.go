// Package s2frame writes and reads S2's standard framed format (the one
// s2c/s2d and s2.NewReader use) for small in-memory payloads: bus messages
// and KV values. A framed payload starts with the stream identifier chunk
// "\xff\x06\x00\x00S2sTwO", which no JSON document can start with, so a
// reader tells compressed and plain payloads apart without a header.
package s2frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/s2"
)

const (
	s2Magic = "\xff\x06\x00\x00S2sTwO"
	// s2MaxChunk is S2's largest block in the framed format.
	s2MaxChunk = 4 << 20
	// MaxDecoded bounds what Decode expands a payload to. Bus messages and
	// KV values are at most a few MB of JSON; the bound stops a small
	// crafted payload (S2 compresses runs of a byte ~2,000×) from making
	// a reader allocate gigabytes.
	MaxDecoded = 64 << 20

	s2ChunkCompressed   = 0x00
	s2ChunkUncompressed = 0x01
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// s2CRC is the framed format's masked CRC-32C of the uncompressed data.
func s2CRC(b []byte) uint32 {
	c := crc32.Update(0, crcTable, b)
	return c>>15 | c<<17 + 0xa282ead8
}

// Is reports whether data is S2-framed.
func Is(data []byte) bool { return bytes.HasPrefix(data, []byte(s2Magic)) }

// Append appends raw to dst in S2's framed format, in chunks of at most
// s2MaxChunk; a chunk that does not shrink is stored as is.
func Append(dst, raw []byte) []byte {
	dst = append(dst, s2Magic...)
	for len(raw) > 0 {
		chunk := raw[:min(len(raw), s2MaxChunk)]
		raw = raw[len(chunk):]
		hdr := len(dst)
		dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // type, 3-byte length, CRC
		need := s2.MaxEncodedLen(len(chunk))
		dst = growLen(dst, need)
		enc := s2.Encode(dst[hdr+8:hdr+8:hdr+8+need], chunk)
		kind := byte(s2ChunkCompressed)
		if len(enc) >= len(chunk) {
			kind = s2ChunkUncompressed
			enc = append(dst[hdr+8:hdr+8], chunk...)
		}
		dst = dst[:hdr+8+len(enc)]
		n := len(enc) + 4
		dst[hdr], dst[hdr+1], dst[hdr+2], dst[hdr+3] = kind, byte(n), byte(n>>8), byte(n>>16)
		binary.LittleEndian.PutUint32(dst[hdr+4:], s2CRC(chunk))
	}
	return dst
}

// growLen makes room for n more bytes after len(b), keeping len(b).
func growLen(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		return nb
	}
	return b
}

// ErrDamaged is wrapped by Decode's error for framed data that does not
// decode: it was cut short or altered.
var ErrDamaged = errors.New("damaged S2-compressed data")

// Decode returns data itself when it is not S2-framed, else its
// decompression appended to dst[:0] (dst may be nil). The error wraps
// ErrDamaged.
func Decode(dst, data []byte) ([]byte, error) {
	if !Is(data) {
		return data, nil
	}
	out := dst[:0]
	rest := data[len(s2Magic):]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: %d bytes left after the last chunk", ErrDamaged, len(rest))
		}
		kind, n := rest[0], int(rest[1])|int(rest[2])<<8|int(rest[3])<<16
		if n > len(rest)-4 {
			return nil, fmt.Errorf("%w: chunk of %d bytes, %d left (cut short?)", ErrDamaged, n, len(rest)-4)
		}
		body := rest[4 : 4+n]
		rest = rest[4+n:]
		switch {
		case kind == s2ChunkCompressed || kind == s2ChunkUncompressed:
			if n < 4 {
				return nil, fmt.Errorf("%w: chunk without its checksum", ErrDamaged)
			}
			sum, block := binary.LittleEndian.Uint32(body), body[4:]
			start := len(out)
			if kind == s2ChunkUncompressed {
				if start+len(block) > MaxDecoded {
					return nil, fmt.Errorf("%w: expands to more than %d MiB", ErrDamaged, MaxDecoded>>20)
				}
				out = append(out, block...)
			} else {
				size, err := s2.DecodedLen(block)
				if err != nil || size > s2MaxChunk {
					return nil, fmt.Errorf("%w: bad block header", ErrDamaged)
				}
				if start+size > MaxDecoded {
					return nil, fmt.Errorf("%w: expands to more than %d MiB", ErrDamaged, MaxDecoded>>20)
				}
				out = growLen(out, size)
				if _, err := s2.Decode(out[start:start+size], block); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
				}
				out = out[:start+size]
			}
			if s2CRC(out[start:]) != sum {
				return nil, fmt.Errorf("%w: checksum mismatch", ErrDamaged)
			}
		case kind == 0xff && bytes.Equal(body, []byte(s2Magic[4:])):
			// A repeated stream identifier (concatenated streams).
		case kind >= 0x80:
			// Padding and skippable chunks.
		default:
			return nil, fmt.Errorf("%w: unknown chunk type %#x", ErrDamaged, kind)
		}
	}
	return out, nil
}
