// Package resource holds the Panoptes resource model (a device or any polled
// entity), resource sets produced by discovery, and the resource filter language.
package resource

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Resource is one polled entity, with Panoptes' field names and JSON.
// Identity is Site+Class+Subclass+Type+ID (see Key).
type Resource struct {
	Site              string            `json:"resource_site"`
	Class             string            `json:"resource_class"`
	Subclass          string            `json:"resource_subclass"`
	Type              string            `json:"resource_type"`
	ID                string            `json:"resource_id"`
	Endpoint          string            `json:"resource_endpoint"`
	Metadata          map[string]string `json:"resource_metadata"`
	CreationTimestamp float64           `json:"resource_creation_timestamp"`
	Plugin            string            `json:"resource_plugin"`

	// key is Key's result once Freeze recorded it; "" computes it at
	// each call.
	key string
}

// Key is the resource's identity, stable across discovery runs. Its parts are
// joined with '|' which cannot occur in a KV key made by KVKey.
func (r *Resource) Key() string {
	if r.key != "" {
		return r.key
	}
	return r.Site + "|" + r.Class + "|" + r.Subclass + "|" + r.Type + "|" + r.ID
}

// Freeze records the resource's key, so that what keeps it (the book, the
// enrichment cache, schedules, ownership: a node holds each key several
// times) shares one string instead of a copy each. Call it before the
// resource is shared; a frozen resource must not change (Clone makes a
// copy that may).
func (r *Resource) Freeze() {
	r.key = ""
	r.key = r.Key()
	// The key ends with the ID: the ID is a piece of it instead of a
	// string of its own (one allocation less a resource of the inventory,
	// which every node holds whole), and so is an endpoint equal to it
	// (as a CSV row without an endpoint gives).
	id := r.ID
	r.ID = r.key[len(r.key)-len(id):]
	if r.Endpoint == id {
		r.Endpoint = r.ID
	}
}

// Validate reports the first required field that is empty.
func (r *Resource) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"resource_site", r.Site}, {"resource_class", r.Class}, {"resource_subclass", r.Subclass},
		{"resource_type", r.Type}, {"resource_id", r.ID}, {"resource_endpoint", r.Endpoint},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s is empty", f.name)
		}
	}
	return nil
}

// Meta returns a metadata value, or "" when absent.
func (r *Resource) Meta(key string) string { return r.Metadata[key] }

// SameContent reports whether two resources carry the same data, ignoring the
// creation timestamp (which changes on every discovery run).
func (r *Resource) SameContent(o *Resource) bool {
	if r.Key() != o.Key() || r.Endpoint != o.Endpoint || r.Plugin != o.Plugin || len(r.Metadata) != len(o.Metadata) {
		return false
	}
	for k, v := range r.Metadata {
		if ov, ok := o.Metadata[k]; !ok || ov != v {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (r *Resource) Clone() *Resource {
	c := *r
	c.key = "" // the copy may change
	if r.Metadata != nil {
		c.Metadata = make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			c.Metadata[k] = v
		}
	}
	return &c
}

// Set is what a discovery plugin produces: the full list of resources it sees.
type Set struct {
	Resources         []*Resource `json:"resources"`
	CreationTimestamp float64     `json:"resource_set_creation_timestamp"`
	SchemaVersion     string      `json:"resource_set_schema_version"`
}

// SetSchemaVersion is the schema version Panoptes wrote for resource sets.
const SetSchemaVersion = "0.1"

// ErrDuplicate is returned by Set.Validate when two resources share a key.
var ErrDuplicate = errors.New("duplicate resource")

// Sorted returns the resources ordered by key, for deterministic output.
func (s *Set) Sorted() []*Resource {
	out := append([]*Resource(nil), s.Resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}
