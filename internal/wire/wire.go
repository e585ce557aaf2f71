// Package wire is the metrics bus's format, apart from the NATS engine that
// carries it (internal/bus): the stream and subjects, how groups are framed
// into messages (JSON Lines, at most ~MaxMessageBytes each), their optional
// compression (S2 or zstd), and decoding a message back into groups. Publishers
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

// Vouched headers. A publisher sets ValidHeader to ValidValue on a message
// every group of which passed metric.Group.Validate when it was encoded
// (bus.PublishSet does): a consumer that stores the bytes as they are may
// then skip metric.Validate, which was 5–8 % of a node's CPU at 500
// switches. A message sourced from another domain's stream (it carries
// SourceHeader: federation) is foreign input and is validated whatever it
// says. The flag vouches for the shape only: whoever may publish on the
// metrics subjects may publish wrong numbers either way.
const (
	ValidHeader  = "Panoptes-Valid"
	ValidValue   = "1"
	SourceHeader = "Nats-Stream-Source" // set by JetStream on a sourced message
)

// Vouched reports whether a message's headers (get is nats.Header.Get or
// the like) vouch for its groups: ValidHeader is set and the message was
// not sourced from another stream.
func Vouched(get func(key string) string) bool {
	return get(ValidHeader) == ValidValue && get(SourceHeader) == ""
}
