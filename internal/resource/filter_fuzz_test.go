package resource

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxFuzzMatchLen bounds the expressions FuzzParseFilter also matches:
// its resources reuse the filter's values, and LIKE costs
// O(len(pattern) * len(value)), so megabyte inputs would stall the fuzzer.
const maxFuzzMatchLen = 2048

// FuzzParseFilter checks that parsing never panics, that errors are
// well-formed, and that a parsed filter's String parses back to a filter
// with the same String that matches the same resources.
func FuzzParseFilter(f *testing.F) {
	for _, tc := range filterMatchCases {
		f.Add(tc.expr)
		f.Add(tc.norm)
	}
	for _, tc := range filterErrorCases {
		f.Add(tc.expr)
	}
	f.Add(benchFilter)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFilter(%q): error %T %v, want *FilterError", expr, err, err)
			}
			if fe.Offset < 0 || fe.Offset > len(expr) || !strings.HasPrefix(err.Error(), "filter: ") {
				t.Fatalf("ParseFilter(%q): malformed error %q (offset %d)", expr, err, fe.Offset)
			}
			return
		}
		text := flt.String()
		again, err := ParseFilter(text)
		if err != nil {
			t.Fatalf("ParseFilter(%q) ok, but its String %q does not parse: %v", expr, text, err)
		}
		if again.String() != text {
			t.Fatalf("String not stable: %q -> %q -> %q", expr, text, again.String())
		}
		if len(expr) > maxFuzzMatchLen {
			return // LIKE is O(len(pattern) * len(value)); huge patterns only test parsing
		}
		for _, r := range fuzzResources(flt) {
			if flt.Match(r) != again.Match(r) {
				t.Fatalf("%q and its String %q disagree on %+v", expr, text, r)
			}
		}
	})
}

// fuzzResources returns the sample resources plus resources built from the
// filter's own values, so that comparisons are exercised on both outcomes.
func fuzzResources(f *Filter) []*Resource {
	rs := make([]*Resource, 0, len(filterSamples)+8)
	for _, name := range sampleNames {
		rs = append(rs, filterSamples[name])
	}
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case anyOf:
			for _, c := range n {
				walk(c)
			}
		case allOf:
			for _, c := range n {
				walk(c)
			}
		case *comparison:
			values := append([]string{n.value, n.like.raw, strings.ReplaceAll(n.like.raw, "%", "")}, n.list...)
			for _, v := range values {
				if len(rs) >= len(filterSamples)+12 {
					return
				}
				r := filterSamples["sw1"].Clone()
				setField(r, n, v)
				rs = append(rs, r)
			}
		}
	}
	if f.root != nil {
		walk(f.root)
	}
	return rs
}

func setField(r *Resource, c *comparison, v string) {
	switch c.col {
	case colSite:
		r.Site = v
	case colClass:
		r.Class = v
	case colSubclass:
		r.Subclass = v
	case colType:
		r.Type = v
	case colID:
		r.ID = v
	case colEndpoint:
		r.Endpoint = v
	default:
		r.Metadata[c.key] = v
	}
}

// FuzzLike checks the LIKE fast paths against the general walk for any
// bytes, and both against a rune-wise reference for valid UTF-8.
func FuzzLike(f *testing.F) {
	for _, tc := range likeCases {
		f.Add(tc.pat, tc.s)
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 64 {
			return // the reference is quadratic
		}
		l := compileLike(pat)
		got := l.match(s)
		if general := likeMatch(l.pat, s); got != general {
			t.Fatalf("%q LIKE %q: fast path (kind %d) %v, general walk %v", s, pat, l.kind, got, general)
		}
		if utf8.ValidString(pat) && utf8.ValidString(s) {
			if want := likeReference([]rune(pat), []rune(s)); got != want {
				t.Fatalf("%q LIKE %q = %v, reference says %v", s, pat, got, want)
			}
		}
	})
}

// likeReference is a plain dynamic-programming LIKE over runes with ASCII
// case folding: ok[i][j] says pat[i:] matches s[j:].
func likeReference(pat, s []rune) bool {
	fold := func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	ok := make([][]bool, len(pat)+1)
	for i := range ok {
		ok[i] = make([]bool, len(s)+1)
	}
	ok[len(pat)][len(s)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			switch {
			case pat[i] == '%':
				ok[i][j] = ok[i+1][j] || j < len(s) && ok[i][j+1]
			case j == len(s):
				ok[i][j] = false
			case pat[i] == '_' || fold(pat[i]) == fold(s[j]):
				ok[i][j] = ok[i+1][j+1]
			}
		}
	}
	return ok[0][0]
}
