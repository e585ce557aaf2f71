package prometheus

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/panoptes-go/panoptes/internal/metric"
)

// Field numbers of the remote-write 1.0 protobuf (prometheus/prompb):
//
//	message WriteRequest { repeated TimeSeries timeseries = 1; }
//	message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	message Label        { string name = 1; string value = 2; }
//	message Sample       { double value = 1; int64 timestamp = 2; }
const (
	fieldTimeseries      = 1
	fieldSeriesLabels    = 1
	fieldSeriesSamples   = 2
	fieldLabelName       = 1
	fieldLabelValue      = 2
	fieldSampleValue     = 1
	fieldSampleTimestamp = 2
	nameLabel            = "__name__"
)

// encoder turns groups into the TimeSeries fields of a WriteRequest, one
// series with one sample per metric, written straight into buf without
// intermediate messages. A WriteRequest is nothing but its repeated
// timeseries field, so the body for any run of records is the
// concatenation of their segments: re-sending part of a batch needs no
// re-encoding.
type encoder struct {
	buf     []byte
	ends    []int // ends[i]: end offset in buf of record i's segment
	samples []int // samples[i]: samples in record i
	nowMs   int64 // timestamp of samples without one

	// Scratch, reused across groups.
	labels        []label
	before, after []byte // a group's label fields sorting before / after __name__
	name          []byte
}

func (e *encoder) reset(nowMs int64) {
	e.buf, e.ends, e.samples, e.nowMs = e.buf[:0], e.ends[:0], e.samples[:0], nowMs
}

// add appends the segment of the next record. A group that cannot be
// represented (colliding labels) gets an empty segment and an error.
func (e *encoder) add(g *metric.Group) error {
	err := e.encode(g)
	if err != nil {
		if len(e.ends) > 0 {
			e.buf = e.buf[:e.ends[len(e.ends)-1]]
		} else {
			e.buf = e.buf[:0]
		}
		e.samples = append(e.samples, 0)
	} else {
		e.samples = append(e.samples, len(g.Metrics))
	}
	e.ends = append(e.ends, len(e.buf))
	return err
}

// segment returns the bytes of records [lo, hi) and their sample count.
func (e *encoder) segment(lo, hi int) ([]byte, int) {
	start := 0
	if lo > 0 {
		start = e.ends[lo-1]
	}
	n := 0
	for _, s := range e.samples[lo:hi] {
		n += s
	}
	return e.buf[start:e.ends[hi-1]], n
}

func (e *encoder) encode(g *metric.Group) error {
	ls, err := appendGroupLabels(e.labels[:0], g)
	e.labels = ls[:0]
	if err != nil {
		return err
	}
	// The spec wants labels sorted by name; __name__ sorts between them
	// (after upper-case names, before lower-case ones).
	e.before, e.after = e.before[:0], e.after[:0]
	for _, l := range ls {
		if l.name < nameLabel {
			e.before = appendLabelField(e.before, l.name, l.value)
		} else {
			e.after = appendLabelField(e.after, l.name, l.value)
		}
	}
	b := e.buf
	for mi := range g.Metrics {
		m := &g.Metrics[mi]
		e.name = appendName(e.name[:0], g.Type, m.Name, m.Type)
		ts := timestampMs(m, g)
		if ts == 0 {
			ts = e.nowMs
		}
		nameSize := labelSize(len(nameLabel), len(e.name))
		sampleSize := 1 + 8 + 1 + protowire.SizeVarint(uint64(ts))
		seriesSize := len(e.before) + 1 + protowire.SizeBytes(nameSize) + len(e.after) +
			1 + protowire.SizeBytes(sampleSize)

		b = protowire.AppendTag(b, fieldTimeseries, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(seriesSize))
		b = append(b, e.before...)
		b = protowire.AppendTag(b, fieldSeriesLabels, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(nameSize))
		b = protowire.AppendTag(b, fieldLabelName, protowire.BytesType)
		b = protowire.AppendString(b, nameLabel)
		b = protowire.AppendTag(b, fieldLabelValue, protowire.BytesType)
		b = protowire.AppendBytes(b, e.name)
		b = append(b, e.after...)
		b = protowire.AppendTag(b, fieldSeriesSamples, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sampleSize))
		b = protowire.AppendTag(b, fieldSampleValue, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(m.Value.Float64()))
		b = protowire.AppendTag(b, fieldSampleTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(ts))
	}
	e.buf = b
	return nil
}

// labelSize is the size of a Label message (both fields set).
func labelSize(name, value int) int {
	return 1 + protowire.SizeBytes(name) + 1 + protowire.SizeBytes(value)
}

// appendLabelField appends a TimeSeries.labels field.
func appendLabelField(b []byte, name, value string) []byte {
	b = protowire.AppendTag(b, fieldSeriesLabels, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(labelSize(len(name), len(value))))
	b = protowire.AppendTag(b, fieldLabelName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, fieldLabelValue, protowire.BytesType)
	return protowire.AppendString(b, value)
}
