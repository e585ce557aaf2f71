//go:build linux

package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchFarmEnv makes this test binary a farm process for BenchmarkLightCheck.
const benchFarmEnv = "PANOPTES_SIM_BENCH_FARM"

// BenchmarkLightCheck compares the CPU per request of the socket-per-device
// server (epoll) and the shared-port server: 1,000 devices answer one-OID
// GETs (sysUpTime, the light check). The farm runs in a child process
// (this test binary again) so that its CPU is measured alone:
// server-cpu-ns/req is the farm's user+system time per request,
// client-cpu-ns/req this process's.
//
//   - saturated: 64 concurrent clients, one request outstanding each, as
//     fast as answers come; ns/op is wall time per request, bounded by the
//     clients on a small machine.
//   - 14000rps: requests paced at 14,000/s in 1 ms bursts, like a collector
//     polling 1,400 devices 10 times a second; ns/op is the pacing.
//
// SIM_BENCH_DEVICES and SIM_BENCH_CLIENTS change the load.
//
//	go test -run '^$' -bench LightCheck -benchtime 50000x ./internal/sim/
func BenchmarkLightCheck(b *testing.B) {
	devices, clients := envInt("SIM_BENCH_DEVICES", 1000), envInt("SIM_BENCH_CLIENTS", 64)
	for _, mode := range []string{"per-device", "shared"} {
		b.Run(mode+"/saturated", func(b *testing.B) { benchSaturated(b, mode, devices, clients) })
		b.Run(mode+"/14000rps", func(b *testing.B) { benchPaced(b, mode, devices, 14000) })
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchSaturated(b *testing.B, mode string, devices, clients int) {
	farm := startFarmProcess(b, mode, devices)
	req := getRequest(b, 1, ".1.3.6.1.2.1.1.3.0")
	var lost, next atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	farm.startCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			for { // one request outstanding per client; resend on a loss
				if _, err := c.WriteToUDPAddrPort(req, farm.addrs[i%len(farm.addrs)]); err != nil {
					b.Error(err)
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if _, _, err := c.ReadFromUDPAddrPort(buf); err == nil {
					break
				}
				lost.Add(1)
			}
		}
	})
	b.StopTimer()
	farm.reportCPU(b, b.N, lost.Load())
}

// benchPaced sends b.N requests at rate per second, round-robin over the
// devices, and waits for the answers.
func benchPaced(b *testing.B, mode string, devices, rate int) {
	farm := startFarmProcess(b, mode, devices)
	req := getRequest(b, 1, ".1.3.6.1.2.1.1.3.0")
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadBuffer(4 << 20)
	var answered atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
				return // deadline or closed
			}
			answered.Add(1)
		}
	}()
	farm.startCPU(b)
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		due := min(b.N, int(time.Since(start).Seconds()*float64(rate))+1)
		for ; sent < due; sent++ {
			if _, err := c.WriteToUDPAddrPort(req, farm.addrs[sent%len(farm.addrs)]); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	for deadline := time.Now().Add(2 * time.Second); answered.Load() < int64(b.N) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	_ = c.SetReadDeadline(time.Now())
	<-done
	farm.reportCPU(b, b.N, int64(b.N)-answered.Load())
}

// farmProcess is a farm served by a child process.
type farmProcess struct {
	addrs []netip.AddrPort
	in    io.Writer
	out   *bufio.Scanner

	serverCPU, clientCPU time.Duration // at startCPU
}

func (p *farmProcess) startCPU(b *testing.B) { p.serverCPU, p.clientCPU = p.cpu(b), selfCPU() }

// reportCPU reports CPU per request since startCPU, and requests lost.
func (p *farmProcess) reportCPU(b *testing.B, requests int, lost int64) {
	server, client := p.cpu(b)-p.serverCPU, selfCPU()-p.clientCPU
	b.ReportMetric(float64(server.Nanoseconds())/float64(requests), "server-cpu-ns/req")
	b.ReportMetric(float64(client.Nanoseconds())/float64(requests), "client-cpu-ns/req")
	b.ReportMetric(float64(lost), "lost")
}

// startFarmProcess re-executes the test binary as a farm (TestBenchFarmProcess)
// and reads its devices' addresses.
func startFarmProcess(b *testing.B, mode string, devices int) *farmProcess {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchFarmProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", benchFarmEnv, mode, devices))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = in.Close() // the farm exits at EOF
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	p := &farmProcess{in: in, out: bufio.NewScanner(outR)}
	for p.out.Scan() {
		line := p.out.Text()
		if line == "ready" {
			return p
		}
		if ap, err := netip.ParseAddrPort(line); err == nil {
			p.addrs = append(p.addrs, ap)
		}
	}
	b.Fatalf("farm process ended before it was ready: %v", p.out.Err())
	return nil
}

// cpu asks the farm for its CPU time so far.
func (p *farmProcess) cpu(b *testing.B) time.Duration {
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		b.Fatal(err)
	}
	for p.out.Scan() {
		if v, ok := strings.CutPrefix(p.out.Text(), "cpu "); ok {
			ns, _ := strconv.ParseInt(v, 10, 64)
			return time.Duration(ns)
		}
	}
	b.Fatalf("farm process: no CPU time: %v", p.out.Err())
	return 0
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchFarmProcess is BenchmarkLightCheck's farm: it serves until
// stdin closes, printing its devices' addresses, then "ready", and its CPU
// time for every "cpu" line read. It does nothing in a normal test run.
func TestBenchFarmProcess(t *testing.T) {
	spec := os.Getenv(benchFarmEnv)
	if spec == "" {
		return
	}
	mode, n, _ := strings.Cut(spec, ",")
	devices, _ := strconv.Atoi(n)
	f, err := Start(context.Background(), Options{Devices: devices, SharedPort: mode == "shared"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(os.Stdout)
	for _, d := range f.Devices() {
		fmt.Fprintln(w, d.Addr)
	}
	fmt.Fprintln(w, "ready")
	_ = w.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "cpu" {
			fmt.Printf("cpu %d\n", selfCPU().Nanoseconds())
		}
	}
}
