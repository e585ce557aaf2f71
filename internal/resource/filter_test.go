package resource

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// filterSamples are the resources the match tables are checked against,
// keyed by a short name.
var filterSamples = map[string]*Resource{
	"sw1": {Site: "dc1", Class: "network", Subclass: "switch", Type: "cisco", ID: "sw1.dc1", Endpoint: "10.0.0.1",
		Metadata: map[string]string{"model": "WS-C3750G-24TS", "os.version": "15.0(2)SE", "snmp-port": "161", "vlan_count": "12", "net:zone/a": "core"}},
	"rt1": {Site: "dc2", Class: "network", Subclass: "router", Type: "juniper", ID: "rt1", Endpoint: "10.0.1.1",
		Metadata: map[string]string{"model": "MX480", "os.version": "21.4R3"}},
	"srv": {Site: "dc1", Class: "compute", Subclass: "server", Type: "linux", ID: "srv-42", Endpoint: "host42.example.com"},
	"odd": {Site: "Dc1", Class: "Network", Subclass: "switch", Type: "cisco", ID: "Ünï_é", Endpoint: "7",
		Metadata: map[string]string{"model": "", "note": `say "hi" \ it's`, "pct": "100%"}},
}

// sampleNames is filterSamples' keys, sorted, for deterministic iteration.
var sampleNames = func() []string {
	var n []string
	for k := range filterSamples {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}()

// filterMatchCases: expression, the samples it must match (sorted), and its
// normalized String ("" means the same as the expression).
var filterMatchCases = []struct {
	expr, want, norm string
}{
	// empty
	{"", "odd rt1 srv sw1", ""},
	{" \t\n ", "odd rt1 srv sw1", ""},
	// = and != are case-sensitive and exact
	{`resource_site = "dc1"`, "srv sw1", ""},
	{`resource_site != "dc1"`, "odd rt1", ""},
	{`resource_class = "network"`, "rt1 sw1", ""},
	{`resource_subclass = 'switch'`, "odd sw1", `resource_subclass = "switch"`},
	{`resource_type="juniper"`, "rt1", `resource_type = "juniper"`},
	{`resource_id = "Ünï_é"`, "odd", ""},
	{`resource_endpoint = 7`, "odd", `resource_endpoint = "7"`},
	{`resource_endpoint = "7"`, "odd", ""},
	{`resource_endpoint = 7.0`, "", `resource_endpoint = "7.0"`},
	{`resource_metadata.vlan_count = 12`, "sw1", `resource_metadata.vlan_count = "12"`},
	{`resource_metadata.snmp-port = -161`, "", `resource_metadata.snmp-port = "-161"`},
	// metadata: missing keys compare as ""
	{`resource_metadata.model = "MX480"`, "rt1", ""},
	{`resource_metadata.model != "MX480"`, "odd srv sw1", ""},
	{`resource_metadata.model = ""`, "odd srv", ""},
	{`resource_metadata.nosuch = "x"`, "", ""},
	{`resource_metadata.nosuch != "x"`, "odd rt1 srv sw1", ""},
	{`resource_metadata.os.version LIKE "15.%"`, "sw1", ""},
	{`resource_metadata.snmp-port = "161"`, "sw1", ""},
	{`resource_metadata.net:zone/a = "core"`, "sw1", ""},
	{`RESOURCE_METADATA.model = "MX480"`, "rt1", `resource_metadata.model = "MX480"`},
	{`resource_metadata.MODEL = "MX480"`, "", ""}, // keys are case-sensitive
	// LIKE: SQL wildcards, ASCII case-insensitive
	{`resource_metadata.model LIKE "%3750%"`, "sw1", ""},
	{`resource_metadata.model like "ws-c3750%"`, "sw1", `resource_metadata.model LIKE "ws-c3750%"`},
	{`resource_metadata.model LIKE "%"`, "odd rt1 srv sw1", ""},
	{`resource_metadata.model LIKE "_%"`, "rt1 sw1", ""},
	{`resource_metadata.model LIKE "MX4_0"`, "rt1", ""},
	{`resource_metadata.model LIKE "MX4_"`, "", ""},
	{`resource_metadata.model NOT LIKE "%3750%"`, "odd rt1 srv", ""},
	{`resource_id LIKE "ünï_é"`, "", ""}, // non-ASCII letters do not fold
	{`resource_id LIKE "Ü__%"`, "odd", ""},
	{`resource_id LIKE "%é"`, "odd", ""},
	{`resource_site LIKE "DC1"`, "odd srv sw1", ""},
	{`resource_metadata.pct LIKE "100_"`, "odd", ""},
	{`resource_metadata.pct LIKE "%0%"`, "odd", ""},
	{`resource_endpoint LIKE "10.0.%.1"`, "rt1 sw1", ""},
	{`resource_endpoint LIKE "%.%.%.1"`, "rt1 sw1", ""},
	{`resource_endpoint LIKE "host__.%.com"`, "srv", ""},
	// IN / NOT IN
	{`resource_type IN ("cisco", "linux")`, "odd srv sw1", ""},
	{`resource_type in ('cisco')`, "odd sw1", `resource_type IN ("cisco")`},
	{`resource_type NOT IN ("cisco", "linux")`, "rt1", ""},
	{`resource_endpoint IN (1, 2, 3, 4, 5, 6, 7, 8, 9)`, "odd", `resource_endpoint IN ("1", "2", "3", "4", "5", "6", "7", "8", "9")`},
	{`resource_endpoint NOT IN (1,2,3,4,5,6,7,8,"9")`, "rt1 srv sw1", `resource_endpoint NOT IN ("1", "2", "3", "4", "5", "6", "7", "8", "9")`},
	{`resource_metadata.model IN ("", "MX480")`, "odd rt1 srv", ""},
	// precedence: AND binds tighter than OR
	{`resource_class = "compute" OR resource_class = "network" AND resource_site = "dc2"`, "rt1 srv", ""},
	{`(resource_class = "compute" OR resource_class = "network") AND resource_site = "dc1"`, "srv sw1", ""},
	{`resource_site = "dc1" AND resource_class = "network" OR resource_type = "juniper"`, "rt1 sw1", ""},
	{`resource_site = "dc1" AND (resource_class = "network" OR resource_type = "linux")`, "srv sw1", ""},
	// parentheses that precedence does not need are dropped, nesting flattened
	{`((resource_site = "dc1"))`, "srv sw1", `resource_site = "dc1"`},
	{`(resource_site = "dc1" AND resource_type = "cisco") AND (resource_class = "network")`, "sw1",
		`resource_site = "dc1" AND resource_type = "cisco" AND resource_class = "network"`},
	{`resource_site = "x" OR (resource_site = "dc2" OR (resource_type = "linux"))`, "rt1 srv",
		`resource_site = "x" OR resource_site = "dc2" OR resource_type = "linux"`},
	{`(resource_site = "dc1" OR resource_site = "dc2") AND (resource_type = "cisco" OR resource_type = "juniper")`, "rt1 sw1", ""},
	// keywords and columns are case-insensitive
	{`Resource_Class = "network" and resource_site = "dc1" Or RESOURCE_TYPE nOt In ("cisco", "juniper", "linux")`, "sw1",
		`resource_class = "network" AND resource_site = "dc1" OR resource_type NOT IN ("cisco", "juniper", "linux")`},
	{`resource_type NoT lIkE 'c%'`, "rt1 srv", `resource_type NOT LIKE "c%"`},
	// escaping
	{`resource_metadata.note = "say \"hi\" \\ it's"`, "odd", ""},
	{`resource_metadata.note = 'say "hi" \\ it\'s'`, "odd", `resource_metadata.note = "say \"hi\" \\ it's"`},
	{`resource_metadata.note = "say \"hi\" \\ it\'s"`, "odd", `resource_metadata.note = "say \"hi\" \\ it's"`},
	{`resource_metadata.note LIKE '%\"hi\"%'`, "odd", `resource_metadata.note LIKE "%\"hi\"%"`},
	// whitespace
	{"resource_site\t=\n\"dc1\"AND(resource_type='cisco')", "sw1", `resource_site = "dc1" AND resource_type = "cisco"`},
}

func sampleMatches(f *Filter) string {
	var got []string
	for _, name := range sampleNames {
		if f.Match(filterSamples[name]) {
			got = append(got, name)
		}
	}
	return strings.Join(got, " ")
}

func TestFilterMatch(t *testing.T) {
	for _, tc := range filterMatchCases {
		f, err := ParseFilter(tc.expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.expr, err)
			continue
		}
		if got := sampleMatches(f); got != tc.want {
			t.Errorf("%q matches [%s], want [%s]", tc.expr, got, tc.want)
		}
		norm := tc.norm
		if norm == "" && strings.TrimSpace(tc.expr) != "" {
			norm = tc.expr
		}
		if f.String() != norm {
			t.Errorf("%q String() = %q, want %q", tc.expr, f.String(), norm)
		}
		again, err := ParseFilter(f.String())
		if err != nil {
			t.Errorf("re-parse of %q: %v", f.String(), err)
			continue
		}
		if again.String() != f.String() || sampleMatches(again) != tc.want {
			t.Errorf("re-parse of %q: String %q, matches [%s]", f.String(), again.String(), sampleMatches(again))
		}
	}
}

func TestFilterNilAndEmpty(t *testing.T) {
	var nilFilter *Filter
	if !nilFilter.Match(filterSamples["sw1"]) || nilFilter.String() != "" {
		t.Error("nil filter must match everything and print as empty")
	}
	if !(&Filter{}).Match(nil) {
		t.Error("zero filter must match a nil resource")
	}
	f := MustParseFilter(`resource_metadata.model = "" AND resource_site != "dc1"`)
	if !f.Match(nil) {
		t.Error("a nil resource must match as an all-empty one")
	}
	if MustParseFilter(`resource_site = ""`).Match(filterSamples["sw1"]) {
		t.Error(`resource_site = "" matched sw1`)
	}
}

func TestMustParseFilterPanics(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.Contains(err.Error(), "resource_sitee") {
			t.Errorf("panic value %v, want the parse error", r)
		}
	}()
	MustParseFilter(`resource_sitee = "x"`)
}

// filterErrorCases: a bad expression, the offset the error must give, the
// column it must name ("" for none) and fragments its message must contain.
var filterErrorCases = []struct {
	expr   string
	offset int
	column string
	want   []string
}{
	{`resource_sitee = "x"`, 0, "resource_sitee",
		[]string{`filter: column "resource_sitee" is unknown (known: resource_site, resource_class, resource_subclass, resource_type, resource_id, resource_endpoint, resource_metadata.<key>)`}},
	{`resource_site = "a" AND bogus IN ("x")`, 24, "bogus", []string{`column "bogus" is unknown`}},
	{`resource_metadata = "x"`, 0, "resource_metadata", []string{`"resource_metadata" needs a key`}},
	{`resource_metadata. = "x"`, 0, "resource_metadata.", []string{`needs a key`}},
	{`resource_class == "network"`, 15, "resource_class",
		[]string{`filter: after resource_class: expected =, !=, LIKE, NOT LIKE, IN or NOT IN, found "=="`}},
	{`resource_class <> "network"`, 15, "resource_class", []string{`found "<>"`}},
	{`resource_class`, 14, "resource_class", []string{"after resource_class: expected", "found end of expression"}},
	{`resource_class NOT = "x"`, 19, "resource_class", []string{`after resource_class NOT: expected LIKE or IN, found "="`}},
	{`resource_class = network`, 17, "resource_class",
		[]string{`after resource_class =: expected a quoted string or number, found "network" (write "network" for a text value)`}},
	{`resource_class = `, 17, "resource_class", []string{`after resource_class =: expected a quoted string or number, found end of expression`}},
	{`(resource_class = "network" AND resource_site = "dc1"`, 0, "", []string{"filter: unclosed parenthesis at offset 0"}},
	{`resource_site = "a" AND (resource_class = "network"`, 24, "", []string{"filter: unclosed parenthesis at offset 24"}},
	{`(resource_site = "a" resource_class = "b")`, 21, "", []string{`expected AND, OR or ")" closing the parenthesis at offset 0, found "resource_class"`}},
	{`resource_site = "dc1`, 16, "resource_site", []string{`after resource_site =: unterminated string: no closing "`}},
	{`resource_site = 'dc1\'`, 16, "resource_site", []string{"unterminated string: no closing '"}},
	{`resource_site = "dc1\`, 16, "resource_site", []string{"unterminated string"}},
	{`resource_site = "d\c1"`, 18, "resource_site", []string{`unknown escape \c in string`}},
	{"resource_site = \"d\\\xff\"", 18, "resource_site", []string{`unknown escape \ followed by byte 0xff`}},
	{`resource_type IN ()`, 18, "resource_type", []string{"after resource_type IN: empty IN list"}},
	{`resource_type NOT IN ( )`, 23, "resource_type", []string{"after resource_type NOT IN: empty IN list"}},
	{`resource_type IN ("a",)`, 22, "resource_type", []string{`after resource_type IN: expected a quoted string or number, found ")"`}},
	{`resource_type IN ("a" "b")`, 22, "resource_type", []string{`expected "," or ")", found string "b"`}},
	{`resource_type IN ("a", "b"`, 17, "resource_type", []string{"after resource_type IN: unclosed parenthesis at offset 17"}},
	{`resource_type IN "a"`, 17, "resource_type", []string{`expected "(" starting the list of values, found string "a"`}},
	{`resource_site = "a" resource_type = "b"`, 20, "", []string{`expected AND, OR or end of expression, found "resource_type"`}},
	{`resource_site = "a")`, 19, "", []string{`found ")" without a matching "("`}},
	{`resource_site = "a" AND`, 23, "", []string{`expected a column name or "(", found end of expression`}},
	{`resource_site = "a" OR OR resource_site = "b"`, 23, "", []string{`expected a column name or "(", found "OR"`}},
	{`NOT resource_site = "a"`, 0, "", []string{`expected a column name or "(", found "NOT"`}},
	{`()`, 1, "", []string{`expected a column name or "(", found ")"`}},
	{`resource_site = "a" @`, 20, "", []string{`found "@"`}},
	{`resource_site = 10.0.0.1`, 16, "resource_site", []string{`malformed number "10.0.0.1" (quote it`}},
	{`resource_site = 5AND resource_id = "x"`, 16, "resource_site", []string{`malformed number "5AND"`}},
	{strings.Repeat("(", maxDepth+1) + `resource_site = "a"` + strings.Repeat(")", maxDepth+1), maxDepth, "",
		[]string{"parentheses nested deeper than 100"}},
}

func TestFilterErrors(t *testing.T) {
	for _, tc := range filterErrorCases {
		f, err := ParseFilter(tc.expr)
		if err == nil {
			t.Errorf("ParseFilter(%q) = %q, want an error", tc.expr, f)
			continue
		}
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFilter(%q) error %T, want *FilterError", tc.expr, err)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("ParseFilter(%q) error %q does not contain %q", tc.expr, msg, w)
			}
		}
		if fe.Offset != tc.offset || !strings.HasSuffix(msg, fmt.Sprintf(" at offset %d", tc.offset)) {
			t.Errorf("ParseFilter(%q) error %q: offset %d, want %d", tc.expr, msg, fe.Offset, tc.offset)
		}
		if fe.Column != tc.column {
			t.Errorf("ParseFilter(%q) error %q: column %q, want %q", tc.expr, msg, fe.Column, tc.column)
		}
		if tc.column != "" && !strings.Contains(msg, tc.column) {
			t.Errorf("ParseFilter(%q) error %q does not name column %q", tc.expr, msg, tc.column)
		}
	}
}

func TestFilterDeepNestingWithinLimit(t *testing.T) {
	expr := strings.Repeat("(", maxDepth) + `resource_site = "dc2"` + strings.Repeat(")", maxDepth)
	f := MustParseFilter(expr)
	if got := sampleMatches(f); got != "rt1" {
		t.Errorf("matches [%s], want [rt1]", got)
	}
}

// likeCases check the LIKE matcher directly, including the fast paths.
var likeCases = []struct {
	pat, s string
	want   bool
}{
	{"", "", true},
	{"", "a", false},
	{"%", "", true},
	{"%%", "abc", true},
	{"_", "", false},
	{"_", "é", true},
	{"__", "é", false},
	{"abc", "ABC", true},
	{"ABC", "abc", true},
	{"abc", "abcd", false},
	{"a%", "AXYZ", true},
	{"a%", "ba", false},
	{"%z", "xyZ", true},
	{"%z", "zy", false},
	{"%b%", "aBc", true},
	{"%b%", "ac", false},
	{"a%b%c", "aXbYc", true},
	{"a%b%c", "aXcYb", false},
	{"%a_c%", "xxabcxx", true},
	{"%a_c", "abcabd", false},
	{"%a_c", "abdabc", true},
	{"a%%b", "ab", true},
	{"%aab", "aaab", true},
	{"%ab%ab", "abab", true},
	{"%ab%ab", "aab", false},
	{"é%", "ÉCOLE", false}, // non-ASCII does not fold
	{"%É%", "xÉx", true},
	{"_x", "\xffx", true}, // an invalid byte is one character
	{"%\xa9", "é", false}, // no match inside a character (é is C3 A9)
	{"%_", "é", true},
}

func TestLike(t *testing.T) {
	for _, tc := range likeCases {
		l := compileLike(tc.pat)
		if got := l.match(tc.s); got != tc.want {
			t.Errorf("%q LIKE %q = %v, want %v (kind %d)", tc.s, tc.pat, got, tc.want, l.kind)
		}
		if got := likeMatch(l.pat, tc.s); got != tc.want {
			t.Errorf("general walk: %q LIKE %q = %v, want %v", tc.s, tc.pat, got, tc.want)
		}
	}
}

func TestLikeFastPathKinds(t *testing.T) {
	for pat, want := range map[string]likeKind{
		"%": likeAll, "%%%": likeAll, "abc": likeExact, "abc%": likePrefix, "%abc": likeSuffix,
		"%abc%": likeContains, "%%abc%%": likeContains, "a%c": likeGeneral, "a_c": likeGeneral, "%a%c%": likeGeneral,
	} {
		if got := compileLike(pat).kind; got != want {
			t.Errorf("compileLike(%q).kind = %d, want %d", pat, got, want)
		}
	}
}

func TestFilterMatchDoesNotAllocate(t *testing.T) {
	f := MustParseFilter(benchFilter)
	for _, name := range sampleNames {
		r := filterSamples[name]
		if n := testing.AllocsPerRun(100, func() { f.Match(r) }); n != 0 {
			t.Errorf("Match(%s) allocates %.0f times", name, n)
		}
	}
}

const benchFilter = `resource_class = "network" AND resource_metadata.model LIKE "%3750%" OR ` +
	`resource_site IN ("dc3", "dc4", "dc5") AND resource_type NOT LIKE "lin_x" OR resource_endpoint LIKE "10.%.1"`

func BenchmarkFilterMatch(b *testing.B) {
	f := MustParseFilter(benchFilter)
	rs := make([]*Resource, 0, len(sampleNames))
	for _, name := range sampleNames {
		rs = append(rs, filterSamples[name])
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if f.Match(rs[i%len(rs)]) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("benchmark filter matched nothing")
	}
}

func BenchmarkParseFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}
