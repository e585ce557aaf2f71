package bgp

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/panoptes-go/panoptes/internal/poll"

	"github.com/panoptes-go/panoptes/internal/snmp"
)

// bgpWalk walks one table for a vendor family; it records its error.
type bgpWalk func(name, root string) ([]snmp.Varbind, error)

// bgpFamily is one vendor's BGP tables.
type bgpFamily struct {
	enterprise string // sysObjectID prefix of the vendor's devices, with a trailing dot
	poll       func(walk bgpWalk, peers map[string]*bgpPeer)
}

var bgpFamilies = []bgpFamily{
	{enterprise: ".1.3.6.1.4.1.9.", poll: pollCiscoBGP},
	{enterprise: ".1.3.6.1.4.1.2636.", poll: juniperBGP.poll},
	{enterprise: ".1.3.6.1.4.1.30065.", poll: aristaBGP.poll},
}

// bgpFamiliesFor returns the vendor family of sysObjectID, or every
// family when it is unknown (or not known to have vendor BGP tables).
func bgpFamiliesFor(sysObjectID string) []bgpFamily {
	if sysObjectID != "" {
		for _, f := range bgpFamilies {
			if strings.HasPrefix(sysObjectID+".", f.enterprise) {
				return []bgpFamily{f}
			}
		}
	}
	return bgpFamilies
}

// pollCiscoBGP walks CISCO-BGP4-MIB: the IPv4 prefix table (keyed like
// bgpPeerTable), then cbgpPeer2Table and its prefixes for the peers the
// standard table lacks. Old IOS has the first table without the others, so
// each is walked (an empty one costs one request).
func pollCiscoBGP(walk bgpWalk, peers map[string]*bgpPeer) {
	for _, t := range []struct {
		name, root string
		parse      func([]snmp.Varbind, map[string]*bgpPeer)
	}{
		{"cbgpPeerAddrFamilyPrefixTable", oidCbgpPeerPrefix, parseCbgpPrefixes},
		{"cbgpPeer2Table", oidCbgpPeer2Table, parseCbgpPeer2Table},
		{"cbgpPeer2AddrFamilyPrefixTable", oidCbgpPeer2PrefixTbl, parseCbgpPeer2Prefixes},
	} {
		if vbs, err := walk(t.name, t.root); err == nil {
			t.parse(vbs, peers)
		}
	}
}

const oidSysObjectIDRoot = ".1.3.6.1.2.1.1.2"

// sysObjectID returns the device's sysObjectID ("" when unknown), read
// with a walk of its one-instance subtree (the plugin only walks) and
// cached per resource for the cache's TTL.
func (b *BGP) sysObjectID(ctx context.Context, w bgpWalker, req *poll.Request) string {
	key := ""
	if req.Resource != nil {
		key = req.Resource.Key() + "|" + req.Resource.Endpoint
	}
	now := b.now()
	if oid, ok := b.oids.get(key, now); ok {
		return oid
	}
	vbs, err := w.Walk(ctx, req.Target, oidSysObjectIDRoot)
	if err != nil {
		return "" // unknown: every family is tried, and reports its own errors
	}
	oid := ""
	for _, vb := range vbs {
		if strings.TrimPrefix(vb.Name, ".") == strings.TrimPrefix(oidSysObjectIDRoot, ".")+".0" {
			if s, ok := snmp.OID(&vb); ok {
				oid = s
			}
		}
	}
	b.oids.put(key, oid, now)
	return oid
}

// oidCache keeps one value per key for ttl; expired entries are swept when
// it grows, so resources that go away do not accumulate.
type oidCache struct {
	ttl   time.Duration
	mu    sync.Mutex
	m     map[string]cachedValue
	limit int
}

type cachedValue struct {
	v  string
	at time.Time
}

func (c *oidCache) get(key string, now time.Time) (string, bool) {
	if key == "" {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return "", false
	}
	return e.v, true
}

func (c *oidCache) put(key, v string, now time.Time) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.limit = map[string]cachedValue{}, 1024
	}
	if len(c.m) >= c.limit {
		for k, e := range c.m {
			if now.Sub(e.at) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.limit {
			c.limit *= 2
		}
	}
	c.m[key] = cachedValue{v: v, at: now}
}
