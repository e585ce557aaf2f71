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

// Subjects: panoptes.metrics.<site>.<group_type> for metrics groups, with a
// partition token last in a partitioned layout (see Layout), and
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
// Token): for metrics, Type is the group type; for events, the kind. A
// metrics subject of a partitioned layout also names its generation and
// partition (Gen 0: a subject without a partition token).
type Subject struct {
	Kind       string // KindMetrics or KindEvents
	Site, Type string
	Gen, Part  int
}

// ErrSubject is wrapped by ParseSubject's errors.
var ErrSubject = errors.New("not a Panoptes bus subject")

// ParseSubject splits a concrete subject (no wildcards) of the form
// panoptes.metrics.<site>.<group_type>[.g<gen>p<partition>] or
// panoptes.events.<site>.<kind>.
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
	toks := strings.Split(rest, ".")
	if len(toks) == 3 && sub.Kind == KindMetrics {
		gen, p, ok := ParsePartitionToken(toks[2])
		if !ok {
			return sub, fmt.Errorf("%w: %q: %q is not a partition token (g<generation>p<partition>)", ErrSubject, s, toks[2])
		}
		sub.Gen, sub.Part = gen, p
		toks = toks[:2]
	}
	if len(toks) != 2 {
		return sub, fmt.Errorf("%w: %q is not <prefix><site>.<type> (two tokens after the prefix, and a partition token for metrics)", ErrSubject, s)
	}
	for _, tok := range toks {
		if tok == "" || Token(tok) != tok {
			return sub, fmt.Errorf("%w: %q has an empty token or one with a wildcard, space or control character", ErrSubject, s)
		}
	}
	sub.Site, sub.Type = toks[0], toks[1]
	return sub, nil
}

// IsMetricsFilter reports whether s may filter metrics subjects: AllMetrics
// or MetricsPrefix followed by tokens, where * and > are wildcards, without
// whitespace.
func IsMetricsFilter(s string) bool {
	return (s == AllMetrics || strings.HasPrefix(s, MetricsPrefix)) && !strings.ContainsAny(s, " \t\r\n")
}

// WithPartitions extends metrics subject filters to partitioned subjects:
// a filter of a site and group type (panoptes.metrics.<site>.<type>,
// wildcards allowed, no '>') also matches those subjects with any partition
// token after them. Other filters are kept as they are (one ending in '>'
// matches both already).
func WithPartitions(filters []string) []string {
	out := make([]string, 0, 2*len(filters))
	for _, f := range filters {
		out = append(out, f)
		rest, ok := strings.CutPrefix(f, MetricsPrefix)
		if ok && strings.Count(rest, ".") == 1 && !strings.Contains(rest, ">") {
			out = append(out, f+".*")
		}
	}
	return out
}

// SubjectCache remembers metrics subjects per layout, site and group
// type: there are few of them, and building one per message would allocate
// on the hot path. The maps are copied on write, so that a lookup writes no
// shared memory (an RWMutex's reader count, contended by every check, cost
// more than the lookup), and keyed by one string each (a [2]string key is
// hashed by the runtime's generic path, ~4× slower). It holds one layout's
// subjects at a time (a new layout starts it afresh). Its zero value is
// ready to use.
type SubjectCache struct {
	m  atomic.Pointer[subjectMap] // never modified once stored
	mu sync.Mutex                 // serializes writers
}

type subjectMap struct {
	layout Layout
	pairs  int                            // site and group type pairs cached
	m      map[string]map[string][]string // site → group type → subject by partition
}

// maxCachedPairs bounds the cache; past it, subjects are built each time.
const maxCachedPairs = 1024

// Metrics is l.Subject(site, groupType, p), cached.
func (c *SubjectCache) Metrics(l Layout, site, groupType string, p int) string {
	if m := c.m.Load(); m != nil && m.layout == l {
		if s, ok := m.m[site][groupType]; ok && p < len(s) {
			return s[p]
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old == nil || old.layout != l {
		old = &subjectMap{layout: l}
	}
	if s, ok := old.m[site][groupType]; ok && p < len(s) {
		return s[p] // another writer was first
	}
	if old.pairs >= maxCachedPairs || p >= max(l.N, 1) {
		return l.Subject(site, groupType, p)
	}
	subjects := make([]string, max(l.N, 1))
	for i := range subjects {
		subjects[i] = l.Subject(site, groupType, i)
	}
	m := maps.Clone(old.m)
	if m == nil {
		m = map[string]map[string][]string{}
	}
	types := maps.Clone(old.m[site])
	if types == nil {
		types = map[string][]string{}
	}
	types[groupType] = subjects
	m[site] = types
	c.m.Store(&subjectMap{layout: l, pairs: old.pairs + 1, m: m})
	return subjects[p]
}
