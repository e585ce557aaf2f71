package poll

import (
	"fmt"
	"sort"
	"strings"
)

// Options reads a plugin's options (decoded from YAML) with types checked
// and unknown keys reported. Read every option you support, then call Err:
//
//	o := poll.ReadOptions(m)
//	dot3 := o.Bool("include_dot3", true)
//	if err := o.Err(); err != nil { return nil, err }
type Options struct {
	m    map[string]any
	read map[string]bool
	errs []string
}

// ReadOptions starts reading m (nil means no options).
func ReadOptions(m map[string]any) *Options {
	return &Options{m: m, read: map[string]bool{}}
}

// Bool returns the named boolean option, or def when absent.
func (o *Options) Bool(name string, def bool) bool {
	o.read[name] = true
	v, ok := o.m[name]
	if !ok || v == nil {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		o.errs = append(o.errs, fmt.Sprintf("option %s: want true or false, got %v (%T)", name, v, v))
		return def
	}
	return b
}

// Strings returns the named list-of-strings option (a single string is a
// list of one), or nil when absent.
func (o *Options) Strings(name string) []string {
	o.read[name] = true
	v, ok := o.m[name]
	if !ok || v == nil {
		return nil
	}
	switch l := v.(type) {
	case string:
		return []string{l}
	case []string:
		return append([]string(nil), l...)
	case []any:
		out := make([]string, 0, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				o.errs = append(o.errs, fmt.Sprintf("option %s[%d]: want a string, got %v (%T)", name, i, e, e))
				continue
			}
			out = append(out, s)
		}
		return out
	}
	o.errs = append(o.errs, fmt.Sprintf("option %s: want a list of strings, got %v (%T)", name, v, v))
	return nil
}

// Fail records a validation error for the named option.
func (o *Options) Fail(name, format string, args ...any) {
	o.errs = append(o.errs, "option "+name+": "+fmt.Sprintf(format, args...))
}

// Err reports the type errors met so far and every option that was not read
// (a typo in the config), naming the options that are known.
func (o *Options) Err() error {
	errs := append([]string(nil), o.errs...)
	var unknown []string
	for k := range o.m {
		if !o.read[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(o.read))
		for k := range o.read {
			known = append(known, k)
		}
		sort.Strings(known)
		errs = append(errs, fmt.Sprintf("unknown option %s (known: %s)",
			strings.Join(unknown, ", "), strings.Join(known, ", ")))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}
