package config

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// HasRole reports whether this process runs role.
func (c *Config) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

var (
	extraMu    sync.RWMutex
	extraRoles []string // registered by app types (RegisterRole)
)

// RegisterRole adds a role beside the built-in ones: an app type's (the
// apps family registers one per type, named after it), which a node runs
// when its roles list it. It panics on an empty or known role, a wiring
// mistake.
func RegisterRole(role string) {
	extraMu.Lock()
	defer extraMu.Unlock()
	if strings.TrimSpace(role) == "" || slices.Contains(AllRoles, role) || slices.Contains(extraRoles, role) {
		panic(fmt.Sprintf("config: register role %q: empty or known", role))
	}
	extraRoles = append(extraRoles, role)
	slices.Sort(extraRoles)
}

// KnownRoles lists every role: the built-in ones (AllRoles), then the
// registered ones, sorted. It is the default of roles: one process does
// everything.
func KnownRoles() []string {
	extraMu.RLock()
	defer extraMu.RUnlock()
	return append(slices.Clone(AllRoles), extraRoles...)
}

// ParseRoles splits a comma-separated --roles value ("poller,consumer").
func ParseRoles(s string) []string {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	return roles
}

func (v *validator) validateCluster(c *Config) {
	known := KnownRoles()
	if len(c.Roles) == 0 {
		v.errf("roles", "is empty; list at least one of: %s", strings.Join(known, ", "))
	}
	seen := map[string]bool{}
	for i, r := range c.Roles {
		path := fmt.Sprintf("roles[%d]", i)
		if !slices.Contains(known, r) {
			v.errf(path, "%q is not a role; use %s", r, strings.Join(known, ", "))
		} else if seen[r] {
			v.errf(path, "%q is listed twice", r)
		}
		seen[r] = true
	}
	if id := c.Cluster.NodeID; id != "" && !validNodeID(id) {
		v.errf("cluster.node_id", "%q may hold only letters, digits, '-' and '_' (it is a key in the membership bucket)", id)
	}
	if hb := c.Cluster.Heartbeat.D(); hb < 100*time.Millisecond || hb > time.Minute {
		v.errf("cluster.heartbeat", "%s is out of range 100ms..1m", hb)
	}
	if c.Cluster.Capacity < 1 || c.Cluster.Capacity > 1000 {
		v.errf("cluster.capacity", "%d is out of range 1..1000", c.Cluster.Capacity)
	}
}

// validNodeID reports whether id is usable as a KV key and a log label.
func validNodeID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
