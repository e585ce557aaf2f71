package kafka

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/wire"
)

// Partitioning.
//
// Panoptes keys every message with "<class>:<subclass>:<type>", which is far
// too coarse to partition by: every Cisco switch of a site would land on one
// partition. Panoptes therefore partitioned by a second key it never sent,
// "<resource_id>|<group_type>|<dim name>|<dim value>|..." hashed with Kafka's
// murmur2 (polling_plugin_agent.py: _make_key, send_messages(partitioning_key)).
// We do the same, byte for byte, so one series always lands on one partition
// (and keeps its order), series spread over all partitions, and a fleet
// migrating from Panoptes puts a series on the same partition as the Python
// producer did. One difference: Panoptes iterated its dimension *set*, whose
// order Python 3 randomizes per process; we sort dimensions by name so the
// key is stable everywhere. Two resources sharing an id and dimensions only
// share a partition, which costs spread, not order.

// appendPartitionKey appends g's partitioning key to b. scratch is reused to
// sort the dimensions without allocating.
func appendPartitionKey(b []byte, g *metric.Group, scratch *[]metric.Dimension) []byte {
	if g.Resource != nil {
		b = append(b, g.Resource.ID...)
	}
	b = append(b, '|')
	b = append(b, g.Type...)
	b = append(b, '|')
	dims := append((*scratch)[:0], g.Dimensions...)
	slices.SortFunc(dims, func(a, b metric.Dimension) int { return strings.Compare(a.Name, b.Name) })
	for i, d := range dims {
		if i > 0 {
			b = append(b, '|')
		}
		b = append(b, d.Name...)
		b = append(b, '|')
		b = append(b, d.Value...)
	}
	clear(dims)
	*scratch = dims[:0]
	return b
}

// appendMessageKey appends Panoptes' message key "<class>:<subclass>:<type>".
func appendMessageKey(b []byte, g *metric.Group) []byte {
	if g.Resource == nil {
		return b
	}
	b = append(b, g.Resource.Class...)
	b = append(b, ':')
	b = append(b, g.Resource.Subclass...)
	b = append(b, ':')
	return append(b, g.Resource.Type...)
}

// seriesCtx is the produce context of one record, carrying the murmur2 hash
// of its partitioning key to the partitioner and its batch index back to
// Write. It rides in kgo.Record.Context,
// which stays in the process: the record on the wire is exactly Panoptes'
// (key, value, no headers).
type seriesCtx struct {
	context.Context
	hash uint32
	idx  int // index of the record's group in the batch
}

// seriesPartitioner picks partition murmur2(partitioning key) mod n, as
// Kafka's default partitioner (and Panoptes' Murmur2Partitioner) does for a
// key. Records without a seriesCtx fall back to their message key.
type seriesPartitioner struct{}

var (
	_ kgo.Partitioner      = seriesPartitioner{}
	_ kgo.TopicPartitioner = seriesPartitioner{}
)

func (seriesPartitioner) ForTopic(string) kgo.TopicPartitioner { return seriesPartitioner{} }

// RequiresConsistency keeps a series on its partition even while that
// partition has no leader: its records wait rather than overtake each other
// on another partition.
func (seriesPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (seriesPartitioner) Partition(r *kgo.Record, n int) int {
	var h uint32
	if sc, ok := r.Context.(*seriesCtx); ok {
		h = sc.hash
	} else {
		h = wire.Murmur2(r.Key)
	}
	return partitionOf(h, n)
}

// partitionOf is Kafka's toPositive(hash) % n.
func partitionOf(h uint32, n int) int { return int(h&0x7fffffff) % n }
