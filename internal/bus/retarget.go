package bus

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/panoptes-go/panoptes/internal/wire"
)

// retarget re-frames a buffered message for layout l, when it was framed
// for another generation of streams (one retired meanwhile: its subjects
// have no stream any more) or spilled before partitions. Its groups go to
// their resources' partitions of l, in order: a message of one resource
// (a check) keeps its bytes and id under the new subject; a coalesced one
// is split by partition, each part under the id plus ".<partition>" (a
// retry of the same split is then deduplicated as before). A message that
// does not decompress goes whole to partition 0, where the consumers set
// it aside as they would have.
func (b *Bus) retarget(p pending, l wire.Layout) []pending {
	sub, err := wire.ParseSubject(p.subject)
	if err != nil || sub.Kind != wire.KindMetrics {
		return nil // not a metrics subject: nothing to re-target
	}
	plain, err := wire.Decompress(nil, p.data)
	if err != nil {
		return []pending{{subject: l.Subject(sub.Site, sub.Type, 0), id: p.id, data: p.data, groups: p.groups}}
	}
	type part struct {
		p     int
		lines [][]byte
	}
	var parts []*part
	for line := range wire.Groups(plain) {
		var head struct {
			Resource struct {
				ID string `json:"resource_id"`
			} `json:"resource"`
		}
		k := 0
		if json.Unmarshal(line, &head) == nil {
			k = l.Partition(head.Resource.ID)
		}
		i := 0
		for i < len(parts) && parts[i].p != k {
			i++
		}
		if i == len(parts) {
			parts = append(parts, &part{p: k})
		}
		parts[i].lines = append(parts[i].lines, line)
	}
	if len(parts) <= 1 {
		k := 0
		if len(parts) == 1 {
			k = parts[0].p
		}
		return []pending{{subject: l.Subject(sub.Site, sub.Type, k), id: p.id, data: p.data, groups: p.groups}}
	}
	out := make([]pending, 0, len(parts))
	for _, pt := range parts {
		data := bytes.Join(pt.lines, []byte{'\n'})
		if z, ok := wire.Compress(nil, data, b.codec); ok {
			data = z
		}
		out = append(out, pending{subject: l.Subject(sub.Site, sub.Type, pt.p), id: p.id + "." + strconv.Itoa(pt.p),
			data: data, groups: len(pt.lines)})
	}
	return out
}
