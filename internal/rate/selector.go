package rate

import (
	"fmt"
	"strings"
)

// Suffix names a rate beside its counter: bits_in → bits_in_rate.
const Suffix = "_rate"

// Selector says which counters of a plugin's groups get rates. The zero
// Selector selects none.
type Selector struct {
	all   bool
	names map[string]bool
}

// All selects every counter.
func All() Selector { return Selector{all: true} }

// Names selects the named counters.
func Names(names ...string) Selector {
	s := Selector{names: make(map[string]bool, len(names))}
	for _, n := range names {
		s.names[n] = true
	}
	return s
}

// ParseSelector reads a plugin's `rates` option: "all", "none", a list of
// counter names, or nil (none).
func ParseSelector(v any) (Selector, error) {
	switch x := v.(type) {
	case nil:
		return Selector{}, nil
	case string:
		switch strings.TrimSpace(x) {
		case "all":
			return All(), nil
		case "none", "":
			return Selector{}, nil
		}
		return Selector{}, fmt.Errorf("rates: %q is not valid: use \"all\", \"none\" or a list of counter names like [bits_in, bits_out]", x)
	case []string:
		return namesOf(x)
	case []any:
		names := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return Selector{}, fmt.Errorf("rates: item %d is %T, want a counter name (string)", i, e)
			}
			names = append(names, s)
		}
		return namesOf(names)
	}
	return Selector{}, fmt.Errorf("rates: %T is not valid: use \"all\" or a list of counter names like [bits_in, bits_out]", v)
}

func namesOf(names []string) (Selector, error) {
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return Selector{}, fmt.Errorf("rates: item %d is empty: name a counter such as bits_in", i)
		}
		if strings.HasSuffix(n, Suffix) {
			return Selector{}, fmt.Errorf("rates: %q ends in %q: name the counter, not its rate", n, Suffix)
		}
	}
	return Names(names...), nil
}

// Empty reports whether s selects nothing: Apply is then a no-op.
func (s Selector) Empty() bool { return !s.all && len(s.names) == 0 }

func (s Selector) selects(name string) bool { return s.all || s.names[name] }
