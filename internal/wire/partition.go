package wire

import (
	"strconv"
	"strings"
)

// Partitions. The metrics bus is cut into N streams, each led by its own
// server, so that it grows with the NATS cluster. A layout is a generation
// of streams:
//
//   - generation 0 is the one stream PANOPTES_METRICS of a bus that never
//     had partitions, its subjects panoptes.metrics.<site>.<group_type>
//     (what every version before partitions wrote: a single node keeps it);
//   - generation G ≥ 1 with N partitions is the streams
//     PANOPTES_METRICS_G<G>_P<p>, p in 0..N-1, stream p holding the subjects
//     panoptes.metrics.<site>.<group_type>.g<G>p<p>.
//
// Changing the partition count creates the next generation and retires the
// previous one (its subjects are taken away, so nothing new lands in it);
// consumers drain a generation before they read the next, which keeps every
// series in order across the change. The partition token is last, so that
// panoptes.metrics.> and panoptes.metrics.<site>.> still match every
// message, and carries the generation, so that two generations' streams
// never claim the same subjects.
//
// A message's partition is its resource's: PartitionOf(resource_id, N).
// One series (a resource's group type and dimensions) therefore stays in one
// partition, in order, and a check's groups, all of one resource, stay in
// one message, as large as without partitions. The hash is Kafka's murmur2,
// as for the Kafka sink's partitions (internal/sink/kafka), there over the
// whole series key, here over its resource part.

// MaxPartitions bounds bus.partitions: every partition is a stream, with
// its own Raft group when replicated.
const MaxPartitions = 128

// RetiredPrefix starts the subject a retired stream keeps instead of its
// metrics subjects (a stream needs one); nothing is published there.
const RetiredPrefix = "panoptes.retired."

// Layout is one generation of the metrics streams: Gen and its partition
// count N (Gen 0 has one).
type Layout struct {
	Gen, N int
}

// Legacy is generation 0: the one stream PANOPTES_METRICS.
var Legacy = Layout{Gen: 0, N: 1}

// LegacySubjects are the subjects without a partition token (generation 0's
// publishers, versions before partitions): in a partitioned layout, the
// current generation's partition 0 takes them once no older stream does.
const LegacySubjects = MetricsPrefix + "*.*"

// Partitioned reports whether the layout's subjects carry a partition token.
func (l Layout) Partitioned() bool { return l.Gen > 0 }

// Stream is partition p's stream name.
func (l Layout) Stream(p int) string { return StreamName(l.Gen, p) }

// Streams are the layout's stream names, by partition.
func (l Layout) Streams() []string {
	out := make([]string, max(l.N, 1))
	for p := range out {
		out[p] = l.Stream(p)
	}
	return out
}

// Partition is the partition of a resource's groups in this layout.
func (l Layout) Partition(resourceID string) int {
	if !l.Partitioned() {
		return 0
	}
	return PartitionOf(resourceID, l.N)
}

// Subject is the subject of a group of groupType from site in partition p.
func (l Layout) Subject(site, groupType string, p int) string {
	s := MetricsSubject(site, groupType)
	if !l.Partitioned() {
		return s
	}
	return s + "." + PartitionToken(l.Gen, p)
}

// StreamSubject is what partition p's stream holds: every site and group
// type with its token (generation 0: every metrics subject).
func (l Layout) StreamSubject(p int) string {
	if !l.Partitioned() {
		return AllMetrics
	}
	return MetricsPrefix + "*.*." + PartitionToken(l.Gen, p)
}

// Holds reports whether subject, a metrics subject, belongs to this layout:
// it carries this generation's token of a partition below N (generation 0:
// no token). A publisher's buffer re-targets a message that does not.
func (l Layout) Holds(subject string) bool {
	rest, ok := strings.CutPrefix(subject, MetricsPrefix)
	if !ok {
		return false
	}
	dots := strings.Count(rest, ".")
	if !l.Partitioned() {
		return dots == 1
	}
	if dots != 2 {
		return false
	}
	gen, p, ok := ParsePartitionToken(rest[strings.LastIndexByte(rest, '.')+1:])
	return ok && gen == l.Gen && p < l.N
}

func (l Layout) String() string {
	if !l.Partitioned() {
		return "generation 0 (one stream, " + MetricsStream + ")"
	}
	return "generation " + strconv.Itoa(l.Gen) + " (" + strconv.Itoa(l.N) + " partitions)"
}

// StreamName is the stream of partition p of generation gen.
func StreamName(gen, p int) string {
	if gen == 0 {
		return MetricsStream
	}
	return MetricsStream + "_G" + strconv.Itoa(gen) + "_P" + strconv.Itoa(p)
}

// ParseStreamName is StreamName's inverse; ok is false for a name that is
// not a metrics stream's.
func ParseStreamName(name string) (gen, p int, ok bool) {
	if name == MetricsStream {
		return 0, 0, true
	}
	rest, found := strings.CutPrefix(name, MetricsStream+"_G")
	if !found {
		return 0, 0, false
	}
	g, ps, found := strings.Cut(rest, "_P")
	if !found {
		return 0, 0, false
	}
	gen, ok1 := parseIndex(g)
	p, ok2 := parseIndex(ps)
	if !ok1 || !ok2 || gen == 0 {
		return 0, 0, false
	}
	return gen, p, true
}

// RetiredSubject is the subject a retired stream keeps.
func RetiredSubject(stream string) string { return RetiredPrefix + stream }

// PartitionToken is the last token of generation gen's partition p's
// subjects: "g<gen>p<p>".
func PartitionToken(gen, p int) string {
	return "g" + strconv.Itoa(gen) + "p" + strconv.Itoa(p)
}

// ParsePartitionToken is PartitionToken's inverse.
func ParsePartitionToken(tok string) (gen, p int, ok bool) {
	rest, found := strings.CutPrefix(tok, "g")
	if !found {
		return 0, 0, false
	}
	g, ps, found := strings.Cut(rest, "p")
	if !found {
		return 0, 0, false
	}
	gen, ok1 := parseIndex(g)
	p, ok2 := parseIndex(ps)
	if !ok1 || !ok2 || gen == 0 {
		return 0, 0, false
	}
	return gen, p, true
}

// parseIndex reads a non-negative decimal without sign or leading zeros.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// PartitionOf is the partition of a resource among n: Kafka's
// toPositive(murmur2(resource_id)) mod n. It must never change: every
// publisher of every version has to place a resource in the same partition.
func PartitionOf(resourceID string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(Murmur2(resourceID)&0x7fffffff) % n
}

// Murmur2 is Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2),
// as its default partitioner (and kafka-python's Murmur2Partitioner) uses
// it: the bus's partitions and the Kafka sink's share it.
func Murmur2[T ~string | ~[]byte](s T) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(s))
	for len(s) >= 4 {
		k := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		s = s[4:]
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(s) {
	case 3:
		h ^= uint32(s[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(s[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(s[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
