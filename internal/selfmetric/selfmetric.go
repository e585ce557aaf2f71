// Package selfmetric holds the one helper every package uses to register
// its Prometheus self-metrics.
package selfmetric

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or returns the identical
// collector already registered under its name, so that several instances
// (two pools, a restarted sink) on one registry share their series. A nil
// reg registers nothing. Any other conflict is a wiring bug and panics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("register self-metric: %v", err))
	}
	return c
}
