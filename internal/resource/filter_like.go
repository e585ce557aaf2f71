package resource

import (
	"strings"
	"unicode/utf8"
)

// likeKind picks a matcher for a LIKE pattern; the common shapes get a
// direct string test instead of the general wildcard walk.
type likeKind uint8

const (
	likeGeneral  likeKind = iota
	likeAll               // "%"
	likeExact             // "abc"
	likePrefix            // "abc%"
	likeSuffix            // "%abc"
	likeContains          // "%abc%"
)

// likePattern is a LIKE pattern compiled at parse time. Matching is SQLite's:
// ASCII letters fold case, other bytes compare exactly, % is any run and _
// one UTF-8 character (one byte where the text is not valid UTF-8).
type likePattern struct {
	raw  string // as written, for String
	pat  string // lower-cased pattern with runs of % collapsed
	lit  string // the literal of the fast kinds
	kind likeKind
}

func compileLike(raw string) likePattern {
	lower := asciiLower(raw)
	for strings.Contains(lower, "%%") {
		lower = strings.ReplaceAll(lower, "%%", "%")
	}
	l := likePattern{raw: raw, pat: lower, kind: likeGeneral}
	// The fast paths compare bytes; for a valid UTF-8 literal that is the
	// same as the rune-wise general walk, since such a literal cannot match
	// in the middle of a character. Invalid patterns take the general walk.
	if strings.Contains(lower, "_") || !utf8.ValidString(lower) {
		return l
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(lower, "%"), "%")
	if strings.Contains(inner, "%") {
		return l
	}
	lead, trail := strings.HasPrefix(lower, "%"), len(lower) > 1 && strings.HasSuffix(lower, "%")
	l.lit = inner
	switch {
	case lower == "%":
		l.kind = likeAll
	case lead && trail:
		l.kind = likeContains
	case lead:
		l.kind = likeSuffix
	case trail:
		l.kind = likePrefix
	default:
		l.kind = likeExact
	}
	return l
}

func (l *likePattern) match(s string) bool {
	switch l.kind {
	case likeAll:
		return true
	case likeExact:
		return len(s) == len(l.lit) && equalFoldLower(s, l.lit)
	case likePrefix:
		return len(s) >= len(l.lit) && equalFoldLower(s[:len(l.lit)], l.lit)
	case likeSuffix:
		return len(s) >= len(l.lit) && equalFoldLower(s[len(s)-len(l.lit):], l.lit)
	case likeContains:
		return containsFoldLower(s, l.lit)
	}
	return likeMatch(l.pat, s)
}

// likeMatch matches s against a lower-cased pattern. It keeps only the last
// % as a backtracking point, which suffices for %/_ patterns: O(len(s) *
// len(pat)) at worst, no recursion, no allocation.
func likeMatch(pat, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) {
			switch c := pat[pi]; c {
			case '%':
				starP, starS = pi, si
				pi++
				continue
			case '_':
				_, w := utf8.DecodeRuneInString(s[si:])
				si += w
				pi++
				continue
			default:
				if lowerASCII(s[si]) == c {
					si++
					pi++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last % absorb one more character and retry after it.
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		pi, si = starP+1, starS
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// equalFoldLower reports whether s equals lit (already lower-case) with
// ASCII case folding; len(s) == len(lit).
func equalFoldLower(s, lit string) bool {
	for i := 0; i < len(lit); i++ {
		if lowerASCII(s[i]) != lit[i] {
			return false
		}
	}
	return true
}

func containsFoldLower(s, lit string) bool {
	if len(lit) == 0 {
		return true
	}
	first := lit[0]
	for i := 0; i+len(lit) <= len(s); i++ {
		if lowerASCII(s[i]) == first && equalFoldLower(s[i:i+len(lit)], lit) {
			return true
		}
	}
	return false
}
