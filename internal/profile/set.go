package profile

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// Set is a validated collection of profiles and the selection rules.
type Set struct {
	byName    map[string]*Profile
	byType    map[string]*Profile
	prefixes  []prefix   // longest first
	fallbacks []*Profile // match.fallback, by name
}

type prefix struct {
	oid     string
	profile *Profile
}

// NewSet checks that names, resource types and sysObjectID prefixes each
// belong to one profile (two claims would make selection depend on file
// order) and builds the selection indexes.
func NewSet(profiles ...*Profile) (*Set, error) {
	s := &Set{byName: map[string]*Profile{}, byType: map[string]*Profile{}}
	var errs []error
	claim := func(p *Profile, what, value string, other *Profile) {
		errs = append(errs, fmt.Errorf("%s: profile %s claims %s %q, already claimed by profile %s (%s)",
			p.File, p.Name, what, value, other.Name, other.File))
	}
	seenOID := map[string]*Profile{}
	for _, p := range profiles {
		if o, dup := s.byName[p.Name]; dup {
			claim(p, "name", p.Name, o)
			continue
		}
		s.byName[p.Name] = p
		for _, t := range p.Match.ResourceType {
			if o, dup := s.byType[t]; dup {
				claim(p, "resource_type", t, o)
				continue
			}
			s.byType[t] = p
		}
		if p.Match.Fallback {
			s.fallbacks = append(s.fallbacks, p)
		}
		for _, oid := range p.Match.SysObjectID {
			if o, dup := seenOID[oid]; dup {
				claim(p, "sys_object_id", oid, o)
				continue
			}
			seenOID[oid] = p
			s.prefixes = append(s.prefixes, prefix{oid: oid, profile: p})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(s.fallbacks, func(i, j int) bool { return s.fallbacks[i].Name < s.fallbacks[j].Name })
	sort.Slice(s.prefixes, func(i, j int) bool {
		a, b := s.prefixes[i].oid, s.prefixes[j].oid
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	return s, nil
}

// Profile returns the profile named name.
func (s *Set) Profile(name string) (*Profile, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Names lists the profiles, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrNoProfile means no profile applies to the resource.
var ErrNoProfile = errors.New("no profile matches")

// NeedsSysObjectID says whether selecting for r depends on its sysObjectID:
// the caller fetches it only then.
func (s *Set) NeedsSysObjectID(r *resource.Resource) bool {
	if _, ok := r.Metadata[MetadataKey]; ok {
		return false
	}
	_, ok := s.byType[r.Type]
	return !ok
}

// Select picks r's profile: resource_metadata.profile names one explicitly;
// else a profile listing r's resource_type; else the profile with the
// longest sysObjectID prefix of sysObjectID (on whole sub-identifiers:
// .1.3.6.1.4.1.9.1 matches .1.3.6.1.4.1.9.1.516, not .1.3.6.1.4.1.9.12).
// An explicit name that does not exist is an error, not a fallback: the
// user asked for something that is not there. When nothing matches the
// error is ErrNoProfile, and the plugin tries the fallback profiles.
func (s *Set) Select(r *resource.Resource, sysObjectID string) (*Profile, error) {
	if name, ok := r.Metadata[MetadataKey]; ok {
		p, found := s.byName[name]
		if !found {
			return nil, fmt.Errorf("resource_metadata.%s names profile %q, which is not loaded (loaded: %s)",
				MetadataKey, name, strings.Join(s.Names(), ", "))
		}
		return p, nil
	}
	if p, ok := s.byType[r.Type]; ok {
		return p, nil
	}
	if sysObjectID != "" {
		oid := normOID(sysObjectID)
		for _, pr := range s.prefixes {
			if oid == pr.oid || strings.HasPrefix(oid, pr.oid+".") {
				return pr.profile, nil
			}
		}
	}
	return nil, fmt.Errorf("%w resource_type %q or sysObjectID %q (set resource_metadata.%s to choose one)",
		ErrNoProfile, r.Type, sysObjectID, MetadataKey)
}
