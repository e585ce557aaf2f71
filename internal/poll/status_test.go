package poll

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// TestStatusOf pins how a check's outcome becomes its polling status: every
// status a device can produce (timeout, auth, network, internal, partial)
// and the order of the rules.
func TestStatusOf(t *testing.T) {
	snmpErr := func(k snmp.Kind) error {
		return fmt.Errorf("walk ifXTable: %w", &snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: k, Err: errors.New("cause")})
	}
	live := context.Background()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for _, c := range []struct {
		name   string
		ctx    context.Context
		groups int
		err    error
		want   int
	}{
		{"success", live, 3, nil, metric.StatusSuccess},
		{"snmp timeout", live, 0, snmpErr(snmp.KindTimeout), metric.StatusTimeout},
		{"snmp auth", live, 0, snmpErr(snmp.KindAuth), metric.StatusAuthFailure},
		{"snmp network", live, 0, snmpErr(snmp.KindNetwork), metric.StatusNetworkFailure},
		{"snmp internal", live, 0, snmpErr(snmp.KindInternal), metric.StatusInternalFailure},
		{"not an snmp error", live, 0, errors.New("bad row"), metric.StatusInternalFailure},
		{"a deadline from below", live, 0, fmt.Errorf("x: %w", context.DeadlineExceeded), metric.StatusTimeout},
		{"partial", live, 2, snmpErr(snmp.KindAuth), metric.StatusPartialFailure},
		{"a walk past the check's limit", live, 0, fmt.Errorf("walk ifTable: %w",
			&snmp.Error{Device: "sw1:161", Op: "walk .1.3", Kind: snmp.KindInternal, Err: fmt.Errorf("%w: more", snmp.ErrWalkLimit)}), metric.StatusPartialFailure},
		{"the check's deadline beats partial", expired, 2, snmpErr(snmp.KindAuth), metric.StatusTimeout},
		{"the plugin's status beats all", expired, 2, WithStatus(metric.StatusMissingMetrics, snmpErr(snmp.KindTimeout)), metric.StatusMissingMetrics},
	} {
		if got := StatusOf(c.ctx, c.groups, c.err); got != c.want {
			t.Errorf("%s: status %s, want %s", c.name, metric.StatusName(got), metric.StatusName(c.want))
		}
	}
}

// TestSNMPKindNamesAreStatusNames: the snmp package labels its request
// metrics with its kinds' names; they must stay the names of the statuses
// the kinds map to, or the same failure would have two names.
func TestSNMPKindNamesAreStatusNames(t *testing.T) {
	kinds := []snmp.Kind{snmp.KindOK, snmp.KindAuth, snmp.KindNetwork, snmp.KindTimeout, snmp.KindInternal}
	seen := map[int]bool{}
	for _, k := range kinds {
		s := snmpStatus(k)
		if got := metric.StatusName(s); got != k.String() {
			t.Errorf("kind %q maps to status %d named %q", k, s, got)
		}
		seen[s] = true
	}
	if len(seen) != len(kinds) {
		t.Errorf("%d kinds map to %d statuses, want one each", len(kinds), len(seen))
	}
}
