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
