//go:build !linux

package sim

import "errors"

const sharedSupported = false

// sendBatch exists on Linux only (serve_shared_linux.go).
type sendBatch struct{}

func newSharedServer(*Farm) (server, error) {
	return nil, errors.New("shared-port mode needs Linux (SO_REUSEPORT with IP_PKTINFO): run without --shared-port")
}
