package plugin

import (
	"strings"
	"testing"
)

type factory func(Block) (string, error)

func TestRegistry(t *testing.T) {
	r := NewRegistry[factory]("widget")
	ok := func(Block) (string, error) { return "ok", nil }
	r.Register("b", ok)
	r.Register("a", ok)
	for name, f := range map[string]func(){
		"empty name":       func() { r.Register(" ", ok) },
		"nil factory":      func() { r.Register("c", nil) },
		"registered twice": func() { r.Register("a", ok) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			f()
		}()
	}
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("Names = %s, want a,b sorted", got)
	}
	if f, err := r.Lookup("a"); err != nil || f == nil {
		t.Errorf("Lookup(a) = %v, %v", f, err)
	}
	_, err := r.Lookup("x")
	if err == nil || err.Error() != `unknown widget "x" (registered: a, b)` {
		t.Errorf("Lookup(x) error = %v", err)
	}
	if _, err := NewRegistry[factory]("gadget").Lookup("x"); err == nil || !strings.Contains(err.Error(), "(registered: none)") {
		t.Errorf("empty registry: %v", err)
	}
}
