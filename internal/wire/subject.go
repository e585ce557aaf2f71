package wire

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Subjects: panoptes.metrics.<site>.<group_type> for metrics groups, and
// panoptes.events.<site>.<kind> for the events to come.
const (
	MetricsPrefix = "panoptes.metrics."
	AllMetrics    = MetricsPrefix + ">"
	EventsPrefix  = "panoptes.events."
	AllEvents     = EventsPrefix + ">"
)

// MetricsSubject is the subject of a metrics group of groupType from site.
func MetricsSubject(site, groupType string) string {
	return MetricsPrefix + Token(site) + "." + Token(groupType)
}

// EventsSubject is the subject of an event of kind from site.
func EventsSubject(site, kind string) string {
	return EventsPrefix + Token(site) + "." + Token(kind)
}

// Token makes s usable as one subject token: '.', '*', '>', whitespace,
// control characters and invalid UTF-8 become '_', and an empty token
// becomes "_". A token is therefore not always the name it came from
// ("dc1.ams" → "dc1_ams"): a consumer that needs the name reads it from
// the group.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	clean := true
	for _, r := range s {
		if badTokenRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if badTokenRune(r) {
			b.WriteByte('_')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func badTokenRune(r rune) bool {
	return r == '.' || r == '*' || r == '>' || r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r)
}

// Kinds of subject.
const (
	KindMetrics = "metrics"
	KindEvents  = "events"
)

// Subject is a parsed bus subject. Site and Type are its tokens (see
// Token): for metrics, Type is the group type; for events, the kind.
type Subject struct {
	Kind       string // KindMetrics or KindEvents
	Site, Type string
}

// ErrSubject is wrapped by ParseSubject's errors.
var ErrSubject = errors.New("not a Panoptes bus subject")

// ParseSubject splits a concrete subject (no wildcards) of the form
// panoptes.metrics.<site>.<group_type> or panoptes.events.<site>.<kind>.
func ParseSubject(s string) (Subject, error) {
	var sub Subject
	var rest string
	switch {
	case strings.HasPrefix(s, MetricsPrefix):
		sub.Kind, rest = KindMetrics, s[len(MetricsPrefix):]
	case strings.HasPrefix(s, EventsPrefix):
		sub.Kind, rest = KindEvents, s[len(EventsPrefix):]
	default:
		return sub, fmt.Errorf("%w: %q does not start with %s or %s", ErrSubject, s, MetricsPrefix, EventsPrefix)
	}
	site, typ, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(typ, ".") {
		return sub, fmt.Errorf("%w: %q is not <prefix><site>.<type> (two tokens after the prefix)", ErrSubject, s)
	}
	for _, tok := range []string{site, typ} {
		if tok == "" || Token(tok) != tok {
			return sub, fmt.Errorf("%w: %q has an empty token or one with a wildcard, space or control character", ErrSubject, s)
		}
	}
	sub.Site, sub.Type = site, typ
	return sub, nil
}

// IsMetricsFilter reports whether s may filter metrics subjects: AllMetrics
// or MetricsPrefix followed by tokens, where * and > are wildcards, without
// whitespace.
func IsMetricsFilter(s string) bool {
	return (s == AllMetrics || strings.HasPrefix(s, MetricsPrefix)) && !strings.ContainsAny(s, " \t\r\n")
}

// SubjectCache remembers metrics subjects per site and group type: there
// are few of them, and building one per message would allocate on the hot
// path. The maps are copied on write, so that a lookup writes no shared
// memory (an RWMutex's reader count, contended by every check, cost more
// than the lookup), and keyed by one string each (a [2]string key is
// hashed by the runtime's generic path, ~4× slower). Its zero value is
// ready to use.
type SubjectCache struct {
	m  atomic.Pointer[map[string]map[string]string] // site → group type → subject; never modified once stored
	mu sync.Mutex                                   // serializes writers
	n  int                                          // subjects cached (under mu)
}

// maxCachedSubjects bounds the cache; past it, subjects are built each time.
const maxCachedSubjects = 4096

// Metrics is MetricsSubject(site, groupType), cached.
func (c *SubjectCache) Metrics(site, groupType string) string {
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[site][groupType]; ok {
			return s
		}
	}
	s := MetricsSubject(site, groupType)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= maxCachedSubjects {
		return s
	}
	var old map[string]map[string]string
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if _, ok := old[site][groupType]; ok {
		return s // another writer was first
	}
	m := maps.Clone(old)
	if m == nil {
		m = map[string]map[string]string{}
	}
	types := maps.Clone(old[site])
	if types == nil {
		types = map[string]string{}
	}
	types[groupType] = s
	m[site] = types
	c.m.Store(&m)
	c.n++
	return s
}
