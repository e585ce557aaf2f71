package poll

import (
	"time"
)

// optInt reads an integer option (YAML decodes integers as int), or def
// when absent. Functions rather than Options methods, so that plugins
// added concurrently can grow Options without clashing.
func optInt(o *Options, name string, def int) int {
	o.read[name] = true
	v, ok := o.m[name]
	if !ok || v == nil {
		return def
	}
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		if n == float64(int(n)) {
			return int(n)
		}
	}
	o.Fail(name, "want an integer, got %v (%T)", v, v)
	return def
}

// optDuration reads a duration option written as "200ms" or "1s", or def
// when absent.
func optDuration(o *Options, name string, def time.Duration) time.Duration {
	o.read[name] = true
	v, ok := o.m[name]
	if !ok || v == nil {
		return def
	}
	if s, ok := v.(string); ok {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	if d, ok := v.(time.Duration); ok {
		return d
	}
	o.Fail(name, "want a duration such as 200ms or 1s, got %v (%T)", v, v)
	return def
}
