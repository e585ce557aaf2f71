package inventory

import (
	"strings"
	"sync"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// strs interns the strings of decoded resources that repeat across a
// fleet: site, class, subclass, type and plugin, metadata keys, and
// metadata values such as the credential's name, vendor, model and OS.
// Every node holds every resource of the inventory, decoded from KV by
// encoding/json, which allocates each string of each resource on its own
// (about 100 bytes a device of text that the devices of a site share).
//
// Bounded like enrich's texts: when full it starts again empty, and the
// resources keep the strings they point to. What is unique to a device
// (its sys_name, a serial) passes through the table but costs it only
// until the next reset: at most maxEntries strings, whatever the fleet.
// ID and endpoint are unique to a device and not interned; an endpoint
// equal to the ID shares its string.
var strs = &interner{maxEntries: 1 << 14, m: map[string]string{}}

// maxInternLen: longer values (free-form text) are left as they are.
const maxInternLen = 64

type interner struct {
	maxEntries int

	mu sync.Mutex
	m  map[string]string
}

// get returns the table's copy of s.
func (t *interner) get(s string) string {
	if s == "" || len(s) > maxInternLen {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.m[s]; ok {
		return c
	}
	if len(t.m) >= t.maxEntries {
		clear(t.m) // a new generation; resources keep theirs
	}
	s = strings.Clone(s) // never a piece of a larger buffer (a KV value) that the table would keep
	t.m[s] = s
	return s
}

// intern points r's repeating strings at shared copies. r is not shared
// yet (it was just decoded): its metadata map is replaced by one with the
// shared keys and values.
func intern(r *resource.Resource) {
	r.Site, r.Class, r.Subclass, r.Type = strs.get(r.Site), strs.get(r.Class), strs.get(r.Subclass), strs.get(r.Type)
	r.Plugin = strs.get(r.Plugin)
	if r.Endpoint == r.ID {
		r.Endpoint = r.ID
	}
	if len(r.Metadata) > 0 {
		md := make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			md[strs.get(k)] = strs.get(v)
		}
		r.Metadata = md
	}
}
