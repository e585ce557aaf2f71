package bench

import "github.com/prometheus/client_golang/prometheus"

// muxCounts are the node's shared-socket counters (internal/snmp).
type muxCounts struct {
	sent, received, sends, recvs, varbinds float64
}

func gatherMux(g prometheus.Gatherer) muxCounts {
	var c muxCounts
	mfs, err := g.Gather()
	if err != nil {
		return c
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			switch mf.GetName() {
			case "panoptes_snmp_packets_sent_total":
				c.sent += v
			case "panoptes_snmp_varbinds_received_total":
				c.varbinds += v
			case "panoptes_snmp_shared_socket_datagrams_received_total":
				c.received += v
			case "panoptes_snmp_shared_socket_syscalls_total":
				for _, l := range m.GetLabel() {
					if l.GetName() != "call" {
						continue
					}
					switch l.GetValue() {
					case "sendmmsg":
						c.sends += v
					case "recvmmsg":
						c.recvs += v
					}
				}
			}
		}
	}
	return c
}

// perCall is datagrams per sendmmsg and per recvmmsg from before to c.
func (c muxCounts) perCall(before muxCounts) (perSend, perRecv float64) {
	if d := c.sends - before.sends; d > 0 {
		perSend = (c.sent - before.sent) / d
	}
	if d := c.recvs - before.recvs; d > 0 {
		perRecv = (c.received - before.received) / d
	}
	return perSend, perRecv
}

// varbindsPerRequest is how many varbinds an SNMP request brought back
// (retries count as requests): what a GETBULK's answer held.
func (c muxCounts) varbindsPerRequest(before muxCounts) float64 {
	if d := c.sent - before.sent; d > 0 {
		return (c.varbinds - before.varbinds) / d
	}
	return 0
}
