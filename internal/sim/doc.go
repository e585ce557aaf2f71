/*
Package sim is an SNMP agent farm: many simulated devices served from one
process, for demos, tests and load tests of the collector.

	f, err := sim.Start(ctx, sim.Options{Devices: 1000, BasePort: 20000,
		Templates: []string{"switch48", "router400"}, Seed: 1})
	...
	defer f.Close()
	for _, d := range f.Devices() { ... d.Addr, d.Name ... }

# Devices and templates

Device i listens on Addr:BasePort+i (BasePort 0: a free port each); past
port 65535, or every PortsPerAddr devices, the next address is used
(127.0.0.2, ...). With SharedPort (Linux, IPv4) every device listens on the
one port BasePort (0: a free one) at an address of its own, device i at
Addr+i (default 127.1.0.1, 127.1.0.2, ...: every 127/8 address is local on
Linux, and 127.1.x.x keeps off services on 127.0.0.1); see Cost. Templates are assigned round-robin (or by TemplateFor):
the built-ins switch48 (Cisco Catalyst 2960-X, 55 interfaces with ifTable,
ifXTable, dot3StatsTable, ENTITY-MIB, CPU and memory) and router400
(Juniper MX960, 400 interfaces), snmpsim .snmprec files, net-snmp
"snmpwalk -On" output, either gzipped, or names of the recordings snmpsim
ships (cisco_16_switch). A recording is loaded once and shared read-only by
every device using it: a sorted table with pre-encoded OIDs and values.
Built-in templates answer sysName with the device's name; recordings answer
exactly what was recorded.

# Protocol

GET, GETNEXT and GETBULK over SNMPv1, v2c and v3 (USM: MD5, SHA, SHA-224/
256/384/512; DES, AES-128/192/256 with either key extension; engine
discovery, time window, usmStats reports). Behaviour matches net-snmp's
agent and snmpsim where they are checked by tests: v1 missing objects and
the end of the MIB are noSuchName errors and Counter64 objects are skipped;
v2c answers noSuchObject/noSuchInstance/endOfMibView; GETBULK stops after a
row of endOfMibView or when the next varbind would exceed the response size
(MaxMsgSize, or a v3 request's msgMaxSize); SET is refused (notWritable).
A wrong community, or a v3 message that cannot be decrypted, is dropped.

# Living data

Counter32/Counter64 values are base + rate × (t − epoch): base is the
recorded value (0 after Restart), epoch the farm's start or the last
Restart, and rate a whole number per second derived from Seed, the device's
index and the counter (Device.Rate): interface octets 1 kB/s-12.5 MB/s,
packets consistent with them, errors rare; 32- and 64-bit columns of one
quantity share their rate, and counters of interfaces that are not up stay
still. Counter32 wraps modulo 2^32. sysUpTime advances with the clock.
Options.Now injects the clock, so a test can step time and compute every
expected value (Device.CounterAt, Device.Uptime).

# Simulated network

With Options.Topology the devices are cabled into one network, a
deterministic function of the device list (topology.go): cores in a ring,
access devices with two uplinks, phones and a transit router outside the
farm, eBGP between cores. Each device answers LLDP-MIB or LLDP-V2-MIB,
Cisco's cdpCacheTable and BGP4-MIB for it from an overlay of its own over
the shared template (overlay.go). SetInterface and SetBGPSession change the
network at run time (ControlHandler serves them over HTTP); Network is the
ground truth. Counters of a port taken down keep counting.

# Faults

Device.SetFault sets a response latency, a loss probability and silence;
Restart resets sysUpTime and counters and bumps the v3 engine boots, so a
v3 manager sees notInTimeWindow and resynchronises.

Device.SetHostile makes a device misbehave as broken or hostile agents do
(v1/v2c): answer one request in N, answer with the wrong request id, send
truncated answers, ignore GETBULK's max-repetitions and fill a datagram,
answer walks with OIDs that do not increase or that loop back, or serve an
ifTable of any number of rows generated per request (no memory). The
poller's tests against them are in hostile_poll_test.go.

# Cost

The v1/v2c path allocates nothing: requests are decoded into pooled
scratch space, looked up by binary search (a walk's next request costs one
comparison) and answered by writing BER into a reused buffer. On Linux the
devices' sockets are raw non-blocking descriptors served by one epoll
worker per CPU (about 1 kB per device); elsewhere each device has a
goroutine. Either way a request costs a wake-up and two system calls: on a
2-CPU VM a one-OID GET costs 15-25 µs of the farm's CPU at 14,000
requests/s.

Shared-port mode serves all devices from GOMAXPROCS-1 sockets (at least
one) bound with SO_REUSEPORT to 0.0.0.0:port (and to the "lo" device when
the addresses are loopback ones). Each socket's worker blocks in
recvmmsg, finds each datagram's device by its destination address
(IP_PKTINFO), and answers up to 64 at once with sendmmsg, each from its
device's address (IP_PKTINFO again: managers' connected sockets accept
only answers from the address they asked). Under load a worker waits up to
2 ms after a small batch so the next one is larger. The same GET then costs
about 6 µs at 14,000 requests/s. Datagrams to an address of no device are
dropped and counted (Stats.NoDevice), as are those the kernel drops on a
full receive queue (Stats.QueueFull: raise net.core.rmem_max if it grows;
4 MB per socket is asked for). See bench_test.go and bench_shared_test.go
for measured figures.
*/
package sim
