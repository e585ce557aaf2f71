package snmp

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/panoptes-go/panoptes/internal/ber"
)

// Old (gosnmp) against new (native) on the two costs that matter: decoding
// a GETBULK response, and a whole walk against the simulator on loopback.
//
//	go test -run '^$' -bench 'Decode|WalkSim' -benchmem ./internal/snmp

// getBulkResponse is a realistic GETBULK response: 25 ifXTable varbinds
// (ifHCInOctets of 25 interfaces) with large Counter64 values.
func getBulkResponse(tb testing.TB) []byte {
	vbs := make([]gosnmp.SnmpPDU, 25)
	for i := range vbs {
		vbs[i] = gosnmp.SnmpPDU{
			Name:  fmt.Sprintf(".1.3.6.1.2.1.31.1.1.1.6.%d", 10101+i),
			Type:  gosnmp.Counter64,
			Value: uint64(29771896789864) + uint64(i)*982451653,
		}
	}
	pkt := &gosnmp.SnmpPacket{
		Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse,
		RequestID: 1234567, Variables: vbs,
	}
	b, err := pkt.MarshalMsg()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// simIfTableResponses are the raw responses of a GETBULK walk (25
// repetitions) of ifTable on the simulator's switch48 template: real
// packets, every column type of ifTable.
func simIfTableResponses(tb testing.TB) [][]byte {
	tb.Helper()
	d := startSim(tb, 1).Devices()[0]
	c, err := net.Dial("udp", net.JoinHostPort(d.Host, fmt.Sprint(d.Port)))
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	var pkts [][]byte
	cur := oidIfTable
	for id := int32(1); ; id++ {
		msg, _, err := encodeRequest(nil, 1, []byte("public"), id,
			&request{pdu: ber.PDUGetBulk, oids: []string{cur}, maxReps: 25})
		if err != nil {
			tb.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			tb.Fatal(err)
		}
		buf := make([]byte, maxDatagram)
		n, err := c.Read(buf)
		if err != nil {
			tb.Fatal(err)
		}
		pkt, _ := decodeNative(tb, buf[:n])
		if len(pkt) == 0 || !inSubtree(oidIfTable, pkt[len(pkt)-1].Name) {
			break
		}
		pkts = append(pkts, buf[:n:n])
		cur = pkt[len(pkt)-1].Name
	}
	if len(pkts) < 10 {
		tb.Fatalf("ifTable walk took %d packets", len(pkts))
	}
	return pkts
}

// decodeNative decodes a response message with the native codec.
func decodeNative(tb testing.TB, pkt []byte) ([]Varbind, response) {
	var h header
	if !parseHeader(pkt, &h) {
		tb.Fatalf("bad header: % x", pkt)
	}
	var d decoder
	vbs, err := d.varbinds(h.vbl, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return vbs, h.outcome()
}

// BenchmarkDecodeGetBulkResponse measures the BER decoding of one GETBULK
// response of 25 Counter64s, the per-packet CPU cost of polling counters.
func BenchmarkDecodeGetBulkResponse(b *testing.B) {
	data := getBulkResponse(b)
	b.Run("gosnmp", func(b *testing.B) { benchDecodeGosnmp(b, [][]byte{data}) })
	b.Run("native", func(b *testing.B) { benchDecodeNative(b, [][]byte{data}) })
}

// BenchmarkDecodeSimIfTable decodes the real responses of an ifTable walk
// of the simulator's switch48 (integers, strings, counters, gauges,
// timeticks, MAC addresses).
func BenchmarkDecodeSimIfTable(b *testing.B) {
	pkts := simIfTableResponses(b)
	b.Run("gosnmp", func(b *testing.B) { benchDecodeGosnmp(b, pkts) })
	b.Run("native", func(b *testing.B) { benchDecodeNative(b, pkts) })
	b.Run("native-walk", func(b *testing.B) { benchDecodeNativeWith(b, pkts, true) })
}

func benchDecodeGosnmp(b *testing.B, pkts [][]byte) {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	b.ReportAllocs()
	var n int
	cpu0 := cpuTime()
	for b.Loop() {
		for _, p := range pkts {
			pkt, err := dec.SnmpDecodePacket(p)
			if err != nil {
				b.Fatal(err)
			}
			n += len(pkt.Variables)
		}
	}
	reportPerVarbind(b, n, len(pkts), cpuTime()-cpu0)
}

func benchDecodeNative(b *testing.B, pkts [][]byte) {
	benchDecodeNativeWith(b, pkts, false)
}

// benchDecodeNativeWith decodes pkts as one walk's responses when walk
// (one decoder for all, as session.walk), else each with its own decoder.
func benchDecodeNativeWith(b *testing.B, pkts [][]byte, walk bool) {
	b.ReportAllocs()
	var n int
	cpu0 := cpuTime()
	for b.Loop() {
		wd := decoder{walk: true}
		for _, p := range pkts {
			var h header
			if !parseHeader(p, &h) {
				b.Fatal("bad header")
			}
			d := &decoder{}
			if walk {
				d = &wd
			}
			vbs, err := d.varbinds(h.vbl, make([]Varbind, 0, 32))
			if err != nil {
				b.Fatal(err)
			}
			n += len(vbs)
		}
	}
	reportPerVarbind(b, n, len(pkts), cpuTime()-cpu0)
}

// reportPerVarbind reports wall and CPU time per varbind: CPU time (the
// process's, GC included) is the steadier figure on a shared machine.
func reportPerVarbind(b *testing.B, varbinds, packets int, cpu time.Duration) {
	if varbinds == 0 {
		return
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(varbinds), "ns/varbind")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(varbinds), "cpu-ns/varbind")
	if packets > 0 {
		b.ReportMetric(float64(varbinds)/float64(b.N)/float64(packets), "varbinds/packet")
	}
}

// BenchmarkWalkSim walks ifTable and ifXTable of a simulated switch48 on
// loopback through a Pool, as the interface plugin does, under a ctx with a
// deadline as the scheduler gives a check. cpu-ns/varbind is the process's
// CPU time (user+system), the in-process simulator's share included: about
// 30-50 ns/varbind, see internal/sim's BenchmarkServe*.
func BenchmarkWalkSim(b *testing.B) {
	benchSim(b, func(ctx context.Context, p *Pool, tg Target) (int, error) {
		n := 0
		for _, root := range []string{oidIfTable, oidIfXTable} {
			vbs, err := p.Walk(ctx, tg, root)
			if err != nil {
				return n, err
			}
			n += len(vbs)
		}
		return n, nil
	})
}

// BenchmarkWalkSimSized is BenchmarkWalkSim as the interface plugin walks
// at its second poll of a device on: each walk's result allocated for what
// the last walk of its table returned (Pool.WalkSized).
func BenchmarkWalkSimSized(b *testing.B) {
	roots := []string{oidIfTable, oidIfXTable}
	sizes := make([]int, len(roots))
	benchSim(b, func(ctx context.Context, p *Pool, tg Target) (int, error) {
		n := 0
		for i, root := range roots {
			vbs, err := p.WalkSized(ctx, tg, root, sizes[i])
			if err != nil {
				return n, err
			}
			sizes[i] = len(vbs)
			n += len(vbs)
		}
		return n, nil
	})
}

// BenchmarkWalkSimInto is BenchmarkWalkSimSized with each walk's result in
// the array of the last one (Pool.WalkSizedInto), as the interface plugin
// walks once its pool of results is warm.
func BenchmarkWalkSimInto(b *testing.B) {
	roots := []string{oidIfTable, oidIfXTable}
	sizes := make([]int, len(roots))
	bufs := make([][]Varbind, len(roots))
	benchSim(b, func(ctx context.Context, p *Pool, tg Target) (int, error) {
		n := 0
		for i, root := range roots {
			vbs, err := p.WalkSizedInto(ctx, tg, root, sizes[i], bufs[i])
			if err != nil {
				return n, err
			}
			sizes[i], bufs[i] = len(vbs), vbs
			n += len(vbs)
		}
		return n, nil
	})
}

// BenchmarkGetSim is a light check: GET sysUpTime.0.
func BenchmarkGetSim(b *testing.B) {
	oids := []string{".1.3.6.1.2.1.1.3.0"}
	benchSim(b, func(ctx context.Context, p *Pool, tg Target) (int, error) {
		vbs, err := p.Get(ctx, tg, oids)
		return len(vbs), err
	})
}

func benchSim(b *testing.B, check func(ctx context.Context, p *Pool, tg Target) (int, error)) {
	ctx := context.Background()
	tg := simTarget(startSim(b, 1).Devices()[0])
	tg.Retries = 1
	for _, name := range []string{"gosnmp", "connected", "shared"} {
		b.Run(name, func(b *testing.B) {
			p := NewPool(PoolOptions{ConnectedSockets: name != "shared"})
			p.useGosnmp = name == "gosnmp"
			defer p.Close()
			b.ReportAllocs()
			var n int
			cpu0 := cpuTime()
			for b.Loop() {
				checkCtx, cancel := context.WithTimeout(ctx, time.Minute)
				k, err := check(checkCtx, p, tg)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				n += k
			}
			reportPerVarbind(b, n, 0, cpuTime()-cpu0)
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConcurrentGets is the light check's SNMP traffic: 512 GETs in
// flight at once across 256 simulated devices, on connected sockets (one
// per session, a datagram per syscall) and on the shared socket (batches).
// cpu-ns/get is the process's CPU time per GET, the in-process simulator's
// share included (about 30 % of it).
//
//	go test -run '^$' -bench ConcurrentGets ./internal/snmp
func BenchmarkConcurrentGets(b *testing.B) {
	const devices, inFlight = 256, 512
	farm := startSim(b, devices)
	for _, name := range []string{"connected", "shared"} {
		b.Run(name, func(b *testing.B) {
			p := NewPool(PoolOptions{ConnectedSockets: name == "connected", MaxIdleSessions: 2 * devices})
			defer p.Close()
			targets := make([]Target, devices)
			for i, d := range farm.Devices() {
				targets[i] = simTarget(d)
			}
			var next atomic.Int64
			b.SetParallelism(inFlight / runtime.GOMAXPROCS(0))
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				oids := []string{".1.3.6.1.2.1.1.3.0"} // sysUpTime.0
				for pb.Next() {
					tg := targets[int(next.Add(1))%devices]
					if _, err := p.Get(context.Background(), tg, oids); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/get")
		})
	}
}

// BenchmarkHeldAnswers holds the answers of a switch48 ifTable walk as a
// loaded node holds its delivered answers until their requests run
// (deliver to decode), and reports the buffer bytes held per answer
// (held-B/answer) and the answers' own size (answer-B).
func BenchmarkHeldAnswers(b *testing.B) {
	pkts := simIfTableResponses(b)
	held := make([]*[]byte, len(pkts))
	var size, bytes int
	for _, p := range pkts {
		size += len(p)
	}
	for b.Loop() {
		bytes = 0
		for i, p := range pkts {
			held[i] = getAnswerBuf(len(p))
			copy(*held[i], p)
			bytes += cap(*held[i])
		}
		for _, bp := range held {
			putAnswerBuf(bp)
		}
	}
	b.ReportMetric(float64(bytes)/float64(len(pkts)), "held-B/answer")
	b.ReportMetric(float64(size)/float64(len(pkts)), "answer-B")
}

// BenchmarkWalkCountersSim walks the counter columns of ifTable (10) and
// ifXTable (12) of a simulated switch48 on the shared socket, as the
// interface plugin does with enrichment (max-repetitions fitted to the
// rows: a column in one answer): "each" one walk per column
// (WalkSizedInto), "columns" one column walk per table (WalkColumns),
// "arena" the same into an Arena per table (WalkColumnsIn). The simulator
// is in the process: its allocations are in B/op too. requests/op is what the simulated device received.
func BenchmarkWalkCountersSim(b *testing.B) {
	var tables [2][]string
	for _, c := range []int{10, 11, 12, 13, 14, 16, 17, 18, 19, 20} {
		tables[0] = append(tables[0], oidIfTable+".1."+strconv.Itoa(c))
	}
	for c := 2; c <= 13; c++ {
		tables[1] = append(tables[1], oidIfXTable+".1."+strconv.Itoa(c))
	}
	d := startSim(b, 1).Devices()[0]
	tg := simTarget(d)
	tg.MaxRepetitions, tg.Retries = 56, 1
	for _, mode := range []string{"each", "columns", "arena"} {
		b.Run(mode, func(b *testing.B) {
			p := NewPool(PoolOptions{})
			defer p.Close()
			var bufs [2][][]Varbind
			var arenas [2]Arena
			for i, roots := range tables {
				bufs[i] = make([][]Varbind, len(roots))
			}
			b.ReportAllocs()
			n := 0
			req0, cpu0 := d.Stats().Requests, cpuTime()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				for i, roots := range tables {
					switch mode {
					case "columns":
						if err := p.WalkColumns(ctx, tg, roots, 55, bufs[i]); err != nil {
							b.Fatal(err)
						}
					case "arena":
						if err := p.WalkColumnsIn(ctx, tg, roots, 55, bufs[i], &arenas[i]); err != nil {
							b.Fatal(err)
						}
					}
					for j, root := range roots {
						if mode == "each" {
							vbs, err := p.WalkSizedInto(ctx, tg, root, 55, bufs[i][j])
							if err != nil {
								b.Fatal(err)
							}
							bufs[i][j] = vbs
						}
						n += len(bufs[i][j])
					}
				}
				cancel()
			}
			reportPerVarbind(b, n, 0, cpuTime()-cpu0)
			b.ReportMetric(float64(d.Stats().Requests-req0)/float64(b.N), "requests/op")
		})
	}
}
