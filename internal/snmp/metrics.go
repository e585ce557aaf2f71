package snmp

import (
	"github.com/panoptes-go/panoptes/internal/selfmetric"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pool's self-metrics. They carry no device or credential
// labels: cardinality stays bounded and secrets cannot leak.
type metrics struct {
	requests       *prometheus.CounterVec   // operation, outcome
	duration       *prometheus.HistogramVec // operation
	sessionsOpen   prometheus.Gauge
	sessionsOpened prometheus.Counter
	inUse          prometheus.Gauge
	limitWaits     prometheus.Counter
	limitWaitSecs  prometheus.Counter
	packetsSent    prometheus.Counter
	varbinds       prometheus.Counter
	retries        prometheus.Counter
	strays         prometheus.Counter
	decoderFaults  prometheus.Counter
	narrowed       prometheus.Counter
	// Shared socket: system calls by kind (sendmmsg, recvmmsg) and the
	// datagrams they moved; datagrams per call is how well batching works.
	muxCalls    *prometheus.CounterVec
	muxReceived prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "requests_total",
			Help: "SNMP operations (get, walk; a walk of several columns together is one walk) by outcome (a polling status name).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "request_duration_seconds",
			Help:    "Duration of SNMP operations, including the wait for the per-device limit.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		sessionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "sessions_open",
			Help: "SNMP sessions (sockets) open, idle or in use.",
		}),
		sessionsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "sessions_opened_total",
			Help: "SNMP sessions opened; a high rate relative to requests means sessions are not reused.",
		}),
		inUse: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "sessions_in_use",
			Help: "SNMP sessions with a request in flight.",
		}),
		limitWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "device_limit_waits_total",
			Help: "Requests that waited because their device had max_requests_per_device requests in flight.",
		}),
		limitWaitSecs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "device_limit_wait_seconds_total",
			Help: "Total time requests waited for the per-device limit.",
		}),
		varbinds: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "varbinds_received_total",
			Help: "Varbinds received in SNMP responses.",
		}),
		packetsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "packets_sent_total",
			Help: "SNMP request packets sent, SNMPv3 engine discovery and retries included.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "retries_total",
			Help: "SNMP requests re-sent after a timeout or a bad response.",
		}),
		strays: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "stray_datagrams_total",
			Help: "Datagrams on the shared socket that answer no request in flight: late answers after a timeout, duplicates, another community or source.",
		}),
		decoderFaults: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "decoder_faults_total",
			Help: "Answers whose decoding panicked (a decoder bug on malformed input), turned into an error for their request: report them with the device's model and a packet capture.",
		}),
		narrowed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "column_walks_narrowed_total",
			Help: "Devices that answered a GETBULK of one column but not of several (answers too large for the path: dropped IP fragments), walked a column a request for the next hour.",
		}),
		muxCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "shared_socket_syscalls_total",
			Help: "sendmmsg and recvmmsg calls on the shared socket (snmp.transport: shared); packets_sent_total or shared_socket_datagrams_received_total divided by these is the batch size.",
		}, []string{"call"}),
		muxReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "panoptes", Subsystem: "snmp", Name: "shared_socket_datagrams_received_total",
			Help: "Datagrams read from the shared socket, strays included.",
		}),
	}
	if reg != nil {
		// Several pools may share a registry: they then share the series.
		m.requests = selfmetric.Register(reg, m.requests)
		m.duration = selfmetric.Register(reg, m.duration)
		m.sessionsOpen = selfmetric.Register(reg, m.sessionsOpen)
		m.sessionsOpened = selfmetric.Register(reg, m.sessionsOpened)
		m.inUse = selfmetric.Register(reg, m.inUse)
		m.limitWaits = selfmetric.Register(reg, m.limitWaits)
		m.limitWaitSecs = selfmetric.Register(reg, m.limitWaitSecs)
		m.packetsSent = selfmetric.Register(reg, m.packetsSent)
		m.varbinds = selfmetric.Register(reg, m.varbinds)
		m.retries = selfmetric.Register(reg, m.retries)
		m.strays = selfmetric.Register(reg, m.strays)
		m.decoderFaults = selfmetric.Register(reg, m.decoderFaults)
		m.narrowed = selfmetric.Register(reg, m.narrowed)
		m.muxCalls = selfmetric.Register(reg, m.muxCalls)
		m.muxReceived = selfmetric.Register(reg, m.muxReceived)
	}
	return m
}
