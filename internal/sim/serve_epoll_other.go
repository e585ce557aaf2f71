//go:build !linux

package sim

import "errors"

const epollSupported = false

func newEpollServer(*Farm) (server, error) { return nil, errors.New("epoll is Linux-only") }
