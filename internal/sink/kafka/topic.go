package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// DefaultTopic is Panoptes' per-site topic for processed metrics.
const DefaultTopic = "{site}-processed"

const sitePlaceholder = "{site}"

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// errInvalidTopic marks a topic name Kafka would refuse.
var errInvalidTopic = errors.New("invalid Kafka topic")

// checkTopic reports why Kafka would refuse name: only ASCII letters,
// digits, '.', '_' and '-', at most 249 characters, not "." or "..".
func checkTopic(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: name is empty", errInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w %q", errInvalidTopic, name)
	case len(name) > maxTopicLen:
		return fmt.Errorf("%w: %d characters, Kafka allows %d", errInvalidTopic, len(name), maxTopicLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: character %q is not allowed (only letters, digits, '.', '_', '-')", errInvalidTopic, name, c)
		}
	}
	return nil
}

// topicTemplate renders "{site}" templates, remembering each site's topic
// (or why it is invalid): there are few sites and many records.
type topicTemplate struct {
	tmpl  string
	cache map[string]topicResult
}

type topicResult struct {
	name string
	err  error
}

// maxCachedTopics bounds the cache against a flood of bogus site names.
const maxCachedTopics = 4096

func newTopicTemplate(field, tmpl string) (*topicTemplate, error) {
	if tmpl == "" {
		tmpl = DefaultTopic
	}
	// Check the fixed part with a site that is itself valid.
	if err := checkTopic(strings.ReplaceAll(tmpl, sitePlaceholder, "site")); err != nil {
		return nil, fieldErr(field, fmt.Sprintf("template %q: %v", tmpl, err))
	}
	return &topicTemplate{tmpl: tmpl, cache: make(map[string]topicResult)}, nil
}

func (t *topicTemplate) topic(site string) (string, error) {
	if r, ok := t.cache[site]; ok {
		return r.name, r.err
	}
	name := strings.ReplaceAll(t.tmpl, sitePlaceholder, site)
	r := topicResult{name: name, err: checkTopic(name)}
	if r.err != nil {
		r.err = fmt.Errorf("site %q: %w", site, r.err)
	}
	if len(t.cache) >= maxCachedTopics {
		clear(t.cache)
	}
	t.cache[site] = r
	return r.name, r.err
}

// permanent reports whether a produce error is about the record itself, so
// that retrying it can never succeed: the sink rejects (dead-letters) it.
// Everything else — timeouts, leader elections, a broker or the network
// down, missing topics, authorization — is retried with the whole batch.
func permanent(err error) bool {
	if errors.Is(err, errInvalidTopic) {
		return true
	}
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord,
		kerr.InvalidTopicException, kerr.InvalidTimestamp:
		return true
	}
	return false
}

func fieldErr(field, msg string) error { return &plugin.FieldError{Field: field, Msg: msg} }
