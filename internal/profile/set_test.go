package profile

import (
	"errors"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/resource"
)

func mustParse(t *testing.T, src string) *Profile {
	t.Helper()
	p, err := Parse(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func simple(t *testing.T, name, match string) *Profile {
	return mustParse(t, "name: "+name+"\nmatch: "+match+"\ngroups:\n  - type: cpu\n    get: {a: .1.3.6.1.2.1.1.3.0}\n    metrics: {m: a}\n")
}

func TestSelectPrecedence(t *testing.T) {
	set, err := NewSet(
		simple(t, "cisco", "{sys_object_id: [.1.3.6.1.4.1.9], resource_type: [cisco]}"),
		simple(t, "cisco-ios", "{sys_object_id: [.1.3.6.1.4.1.9.1]}"),
		simple(t, "cisco-1", "{sys_object_id: [.1.3.6.1.4.1.9.1.1]}"),
		simple(t, "nexus", "{sys_object_id: [1.3.6.1.4.1.9.12.3.1.3], resource_type: [nexus]}"),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := func(typ string, meta map[string]string) *resource.Resource {
		return &resource.Resource{Type: typ, Metadata: meta}
	}
	cases := []struct {
		name   string
		res    *resource.Resource
		sysOID string
		want   string
	}{
		{"metadata beats resource type and OID", res("nexus", map[string]string{"profile": "cisco-ios"}), ".1.3.6.1.4.1.9.12.3.1.3.1", "cisco-ios"},
		{"resource type beats OID", res("nexus", nil), ".1.3.6.1.4.1.9.1.516", "nexus"},
		{"longest prefix", res("switch", nil), ".1.3.6.1.4.1.9.1.516", "cisco-ios"},
		{"whole sub-identifiers: 9.1.1 does not match 9.1.15", res("switch", nil), ".1.3.6.1.4.1.9.1.15", "cisco-ios"},
		{"exact OID", res("switch", nil), ".1.3.6.1.4.1.9.1.1", "cisco-1"},
		{"deeper prefix", res("switch", nil), "1.3.6.1.4.1.9.1.1.7", "cisco-1"},
		{"9.12 is not under 9.1", res("switch", nil), ".1.3.6.1.4.1.9.12.3.1.3.1812", "nexus"},
		{"short prefix", res("switch", nil), ".1.3.6.1.4.1.9.5.1", "cisco"},
	}
	for _, c := range cases {
		p, err := set.Select(c.res, c.sysOID)
		if err != nil || p.Name != c.want {
			t.Errorf("%s: got %v, %v; want %s", c.name, p, err, c.want)
		}
	}
	if set.NeedsSysObjectID(res("nexus", nil)) || set.NeedsSysObjectID(res("x", map[string]string{"profile": "cisco"})) ||
		!set.NeedsSysObjectID(res("switch", nil)) {
		t.Error("NeedsSysObjectID: only resources without metadata key or known type need the OID")
	}
	if _, err := set.Select(res("switch", nil), ".1.3.6.1.4.1.2636.1.1"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("unknown vendor: %v", err)
	}
	_, err = set.Select(res("nexus", map[string]string{"profile": "cisco-xr"}), "")
	if err == nil || errors.Is(err, ErrNoProfile) || !strings.Contains(err.Error(), `"cisco-xr", which is not loaded`) {
		t.Errorf("an explicit unknown profile must be its own error, got %v", err)
	}
}

func TestSetConflicts(t *testing.T) {
	_, err := NewSet(
		simple(t, "a", "{sys_object_id: [.1.3.6.1.4.1.9], resource_type: [cisco]}"),
		simple(t, "b", "{sys_object_id: [1.3.6.1.4.1.9], resource_type: [cisco]}"),
		simple(t, "a", "{}"),
	)
	if err == nil {
		t.Fatal("conflicting profiles accepted")
	}
	for _, want := range []string{`claims resource_type "cisco", already claimed by profile a`,
		`claims sys_object_id ".1.3.6.1.4.1.9"`, `claims name "a"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nlacks %s", err, want)
		}
	}
}
