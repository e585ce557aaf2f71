/*
Package snmp's behaviour worth knowing, checked against net-snmp 5.9.3 snmpd
and snmpsim 0.4.5 by this package's tests.

# Sessions

A Pool keeps sessions (one connected UDP socket each) per device and
credential. SNMPv1 and v2c sessions use the package's own client (client.go,
codec.go): it encodes requests and decodes responses in one pass straight
into Varbinds, with the values of a response in a few allocations per packet,
or per walk when one decoder serves all of a walk's responses (box.go), and reads into receive buffers shared through a sync.Pool, taken
only once a datagram has arrived. An idle v1/v2c session costs about 1 KiB
besides its socket; SNMPv3 sessions use gosnmp (USM), whose sessions keep a
64 KiB receive buffer each. Both give the same Varbinds (same names, types
and Go values: differential tests against snmpd and snmpsim) and the same
errors. The native client also drops datagrams that do not answer the
request in flight (another request id, such as a late duplicate of an
earlier answer, another community or version), where gosnmp accepted any
answer to the request ids of its attempts.

A session serves one request at a time; at most MaxRequestsPerDevice
requests run against one host:port, across credentials.
The host name is resolved when a session opens, so a reused session keeps
its address until it idles out. A session whose request failed (auth
error, cancellation, a malformed answer) is closed rather than reused; a
native v1/v2c session that only timed out is kept, since it drops late
answers by their request id. SNMPv3 engine
discovery (engine ID, boots, time) happens on a session's first request and
is reused by its later requests: one extra packet per session, not per
request.

# Timeouts, retries and cancellation

Each request is sent up to 1+retries times, waiting Timeout (or until the
ctx's deadline, if sooner) for each: a silent agent costs (1+retries) ×
timeout, a read error or an undecodable answer re-sends at once. A
cancelled ctx closes the session's socket to unblock the read (gosnmp looks
at its Context only between retries); the call returns at once with the
ctx's error and the session is discarded. A ctx that reaches its deadline
does not close the socket: the read's deadline (never later than the ctx's)
ends the wait.

# Walks against bad agents

A walk stops with ErrNotIncrease (KindInternal) when an answer's OID is not
greater than the one before it, also when the agent jumps back out of the
subtree: only an OID past the subtree ends a table. The walks under one ctx
return at most WalkLimit varbinds together (the poll runner gives each
check DefaultWalkLimit, a million, about 130 MB held); a walk that would
pass it fails with ErrWalkLimit, so a table of hundreds of thousands of
rows or one that never ends costs bounded memory. An answer with another
request id, or one cut short, is dropped and the request times out; an
answer is at most one datagram (64 KiB), whatever max-repetitions asked.

# Column walks

WalkColumns walks several roots (a table's columns) as one operation: each
GETBULK names the next instance of up to 512 ÷ max-repetitions columns not
yet ended, and the answer's varbinds are dealt to their columns row by row
(RFC 3416 4.2.3: the i-th varbind of each row answers the i-th name). Each
column's result is what Walk of it returns, checked as a walk is (order,
end of subtree, endOfMibView, the walk limit; the scalar fallback of the
empty ones is one GET for all of them, not one each); an
answer cut to the agent's message size continues from where each column
got, and an agent that answers tooBig instead is asked for fewer columns,
down to one. An answer of many columns can outgrow the path's MTU (~14 KB
at 512 counters: IP fragments), and a firewall or tunnel that drops
fragments turns it into silence: when a request of several columns is not
answered, the walk goes on one column a request, and once that is answered
the pool walks the device so for an hour
(panoptes_snmp_column_walks_narrowed_total, one warning). A device gone
silent fails the narrow request too and is not remembered.
SNMPv1 walks the columns one by one (GETNEXT, where a noSuchName fails the
whole PDU). SNMPv3 takes the same path through gosnmp.

WalkColumnsIn decodes the answers' names and numbers into an Arena the
caller keeps for its next walk: the results point into it and are valid
only until that walk, so the caller copies what it keeps first (the
interface plugin's rows hold numbers and strings copied by Text). SNMPv3's
answers, decoded by gosnmp, leave the arena unused.

# SNMPv3 privacy protocols and key extension

AES-192 and AES-256 need longer keys than MD5 or SHA-1 digests give, and two
incompatible key extensions exist:

  - priv_protocol AES192 / AES256: the extension of draft-blumenthal-aes-usm
    (gosnmp's AES192/AES256). This is what net-snmp's "AES-192"/"AES-256"
    implement: use these with net-snmp agents (Linux, most appliances).
  - priv_protocol AES192C / AES256C: the "Reeder" extension that Cisco IOS
    implements (gosnmp's AES192C/AES256C).

With SHA-256 or longer digests the key needs no extension and both variants
are the same; with MD5/SHA-1 the wrong variant fails. AES (128) and DES have
no such ambiguity. Protocol names are case-insensitive and net-snmp's
spellings ("SHA-256", "AES-256") are accepted.

# Error kinds against net-snmp

  - wrong auth passphrase, auth protocol or unknown user: the agent's report
    arrives unauthenticated and gosnmp rejects it; KindAuth.
  - wrong priv passphrase or protocol: net-snmp cannot decrypt and drops the
    request silently. Because the same session's engine discovery was
    answered a moment before, the timeout is reported as KindAuth
    ("wrong priv_passphrase or priv_protocol?"). A reused session that times
    out later reports KindTimeout.
  - security level below the user's (e.g. noAuthNoPriv for an authPriv
    user): authorizationError; KindAuth.
  - wrong v1/v2c community: agents do not answer; KindTimeout after
    (1+retries) × timeout.
  - closed UDP port: the ICMP port unreachable becomes ECONNREFUSED on the
    connected socket (Linux); KindNetwork at once, not a timeout.
    A filtered port or a silent host is KindTimeout.
  - unresolvable host name: KindNetwork.

Errors and logs name the device (host:port), the operation and the
credential name, never a community or a passphrase.
*/
package snmp
