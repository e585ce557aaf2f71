// Package wire is the metrics bus's format, apart from the NATS engine that
// carries it (internal/bus): the stream and subjects, how groups are framed
// into messages (JSON Lines, at most ~MaxMessageBytes each), their optional
// S2 compression, and decoding a message back into groups. Publishers
// (internal/bus) encode with it; consumers (sinks, apps) decode with it and
// need no part of the engine. Deployed consumers read these bytes: a change
// here is a change of protocol (internal/bus pins them in a golden test).
package wire

// MetricsStream is the JetStream stream that holds every metrics subject
// (AllMetrics).
const MetricsStream = "PANOPTES_METRICS"

// Ref locates one message in a stream: the stream that stored it and its
// sequence there (a publish ack's Stream and Sequence). The status page
// reads a check's latest groups back by the refs its publish returned
// (bus.PublishSetRefs), so no node keeps a copy of them.
type Ref struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
}
