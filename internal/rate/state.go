package rate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream KV bucket holding the previous samples.
const Bucket = "panoptes_rate_state"

// OpenBucket creates or opens the rate state bucket. ttl drops the state of
// resources no node polls any more (default 24h); History 1: only the
// latest state matters.
func OpenBucket(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "previous counter samples for rates, one entry per resource",
		History:     1,
		TTL:         ttl,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// kvKey is the KV key of a resource: resource keys hold '|' and other
// characters KV keys may not, so the key is a hash; the value repeats the
// resource key to catch a collision.
func kvKey(resourceKey string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(resourceKey))
	return "r" + strconv.FormatUint(h.Sum64(), 16)
}

// State encoding, version 1, big endian:
//
//	'R' 1 | u16 len + resource key | u32 n | n × (u64 series, u64 value,
//	f64 at, u32 uptime, u32 disc, u8 flags)
const (
	stateMagic   = 'R'
	stateVersion = 1
	entrySize    = 8 + 8 + 8 + 4 + 4 + 1
)

// encodeState appends st's samples to b, dropping series older than the
// resource's newest by more than evict (their interface is gone). Device
// time, not the node's clock, decides, as rates use metric timestamps.
func encodeState(b []byte, st *resState, evict time.Duration) []byte {
	newest := 0.0
	st.series.each(func(_ uint64, s sample) { newest = max(newest, s.at) })
	cutoff := newest - evict.Seconds()
	b = append(b, stateMagic, stateVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(st.key)))
	b = append(b, st.key...)
	nAt := len(b)
	b = binary.BigEndian.AppendUint32(b, 0)
	st.series.keep(func(_ uint64, s sample) bool { return s.at >= cutoff })
	n := uint32(0)
	st.series.each(func(h uint64, s sample) {
		b = binary.BigEndian.AppendUint64(b, h)
		b = binary.BigEndian.AppendUint64(b, s.value)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.at))
		b = binary.BigEndian.AppendUint32(b, s.uptime)
		b = binary.BigEndian.AppendUint32(b, s.disc)
		b = append(b, s.flags)
		n++
	})
	binary.BigEndian.PutUint32(b[nAt:], n)
	return b
}

// decodeState fills st.series from b.
func decodeState(b []byte, st *resState) error {
	if len(b) < 8 || b[0] != stateMagic {
		return errors.New("not a rate state entry")
	}
	if b[1] != stateVersion {
		return fmt.Errorf("rate state version %d, this build reads %d", b[1], stateVersion)
	}
	kl := int(binary.BigEndian.Uint16(b[2:]))
	if len(b) < 4+kl+4 {
		return errors.New("truncated rate state")
	}
	if string(b[4:4+kl]) != st.key {
		return fmt.Errorf("entry holds resource %q (hash collision)", b[4:4+kl])
	}
	b = b[4+kl:]
	n := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if len(b) != n*entrySize {
		return fmt.Errorf("rate state has %d bytes for %d series, want %d", len(b), n, n*entrySize)
	}
	for i := 0; i < n; i++ {
		e := b[i*entrySize:]
		st.series.put(binary.BigEndian.Uint64(e), sample{
			value:  binary.BigEndian.Uint64(e[8:]),
			at:     math.Float64frombits(binary.BigEndian.Uint64(e[16:])),
			uptime: binary.BigEndian.Uint32(e[24:]),
			disc:   binary.BigEndian.Uint32(e[28:]),
			flags:  e[32],
		})
	}
	st.series.merge()
	return nil
}
