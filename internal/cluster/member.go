package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Member is one node's record in the membership bucket, refreshed on every
// heartbeat.
type Member struct {
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	Roles    []string  `json:"roles"`
	Capacity int       `json:"capacity"`
	Started  time.Time `json:"started"`
	Version  string    `json:"version"`
	Draining bool      `json:"draining"`
	// DrainAt is when a draining member stops polling: it polls due times
	// before it, the members taking its resources over those from it on.
	DrainAt time.Time `json:"drain_at,omitzero"`
	// JoinAt is when a member that joined a site with live pollers starts
	// polling: the members whose resources move to it poll due times before
	// it, the joiner those from it on (zero: it joined an empty site).
	JoinAt time.Time `json:"join_at,omitzero"`
	// Seq numbers the member's publications of its record (bucket puts and
	// core heartbeats) within one life (Started): the latest wins.
	Seq       uint64 `json:"seq,omitempty"`
	Heartbeat Millis `json:"heartbeat_ms"` // its heartbeat period: silence for ttlBeats of them means gone
	// Consumers are the bus consumers (sinks, apps) it runs, by name: the
	// members running one share its partitions (OwnsPartition).
	Consumers []string `json:"consumers,omitempty"`

	// Seen is when its last heartbeat arrived (local clock; not stored).
	Seen time.Time `json:"-"`
}

// Millis is a duration stored as whole milliseconds in JSON.
type Millis int64

// D is the duration.
func (m Millis) D() time.Duration { return time.Duration(m) * time.Millisecond }

// Role names a member uses; the config package validates them.
const (
	RolePoller          = "poller"
	RoleDiscovery       = "discovery"
	RoleResourceManager = "resource_manager"
)

// Has reports whether the member runs role.
func (m *Member) Has(role string) bool { return slices.Contains(m.Roles, role) }

// Polls reports whether the member takes resources: a poller not draining.
func (m *Member) Polls() bool { return m.Has(RolePoller) && !m.Draining }

// leads reports whether the member may be its site's leader.
func (m *Member) leads() bool {
	return (m.Has(RoleDiscovery) || m.Has(RoleResourceManager)) && !m.Draining
}

// ttl is how long the member stays live after a heartbeat.
func (m *Member) ttl() time.Duration {
	hb := m.Heartbeat.D()
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	return ttlBeats * hb
}

// Alive reports whether the member's last heartbeat is recent at now.
func (m *Member) Alive(now time.Time) bool { return now.Sub(m.Seen) < m.ttl() }

// Pollers returns the members that share site's resources: live pollers of
// that site that are not draining, in ID order.
func Pollers(members []Member, site string, now time.Time) []Member {
	var out []Member
	for _, m := range members {
		if m.Site == site && m.Polls() && m.Alive(now) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// NodeID returns the node ID kept in dir/node_id, creating it (host name
// and a random suffix) on first use so a node keeps its ID across restarts.
func NodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node_id")
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !ValidID(id) {
			return "", fmt.Errorf("node id %q in %s is not valid (letters, digits, '-', '_'); fix or delete the file", id, path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	host, _ := os.Hostname()
	var sb strings.Builder
	for _, r := range host {
		if len(sb.String()) >= 40 {
			break
		}
		if validIDRune(r) {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('-')
		}
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	id := strings.Trim(sb.String(), "-")
	if id == "" {
		id = "node"
	}
	id += "-" + hex.EncodeToString(rnd[:])
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create data dir for the node id: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}

// ValidID reports whether id can name a member (a KV key and a label).
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !validIDRune(r) {
			return false
		}
	}
	return true
}

func validIDRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}
