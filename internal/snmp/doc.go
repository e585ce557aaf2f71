/*
Package snmp's behaviour worth knowing, checked against net-snmp 5.9.3 snmpd
and snmpsim 0.4.5 by this package's tests.

# Sessions

A Pool keeps gosnmp sessions (one connected UDP socket each) per device and
credential. A session serves one request at a time; at most
MaxRequestsPerDevice requests run against one host:port, across credentials.
The host name is resolved when a session opens, so a reused session keeps
its address until it idles out. A session whose request failed (timeout,
auth error, cancellation) is closed rather than reused. SNMPv3 engine
discovery (engine ID, boots, time) happens on a session's first request and
is reused by its later requests: one extra packet per session, not per
request.

# Cancellation

gosnmp looks at its Context only between retries, so a cancelled ctx closes
the session's socket to unblock the read; the call returns at once with the
ctx's error and the session is discarded.

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

# Error statuses against net-snmp

  - wrong auth passphrase, auth protocol or unknown user: the agent's report
    arrives unauthenticated and gosnmp rejects it; StatusAuthFailure.
  - wrong priv passphrase or protocol: net-snmp cannot decrypt and drops the
    request silently. Because the same session's engine discovery was
    answered a moment before, the timeout is reported as StatusAuthFailure
    ("wrong priv_passphrase or priv_protocol?"). A reused session that times
    out later reports StatusTimeout.
  - security level below the user's (e.g. noAuthNoPriv for an authPriv
    user): authorizationError; StatusAuthFailure.
  - wrong v1/v2c community: agents do not answer; StatusTimeout after
    (1+retries) × timeout.
  - closed UDP port: the ICMP port unreachable becomes ECONNREFUSED on the
    connected socket (Linux); StatusNetworkFailure at once, not a timeout.
    A filtered port or a silent host is StatusTimeout.
  - unresolvable host name: StatusNetworkFailure.

Errors and logs name the device (host:port), the operation and the
credential name, never a community or a passphrase.
*/
package snmp
