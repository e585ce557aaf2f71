//go:build !linux

package snmp

import "syscall"

// Elsewhere the shared socket gets the system's default receive buffer and
// no ICMP errors: a closed port is a timeout there, not a network failure.
func setRecvBuffer(syscall.RawConn, int) int { return 0 }
func enableRecvErr(syscall.RawConn, bool)    {}
func isICMPError(error) bool                 { return false }
func (s *muxSocket) drainErrors()            {}
