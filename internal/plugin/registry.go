// Package plugin is what every plugin family shares: a registry of named
// factories, and the block of config a plugin receives and decodes itself,
// strictly, with errors that name file, line and key. It is a leaf: the
// families (polling plugins, discovery sources, sinks, bus sources) and the
// core config import it, it imports none of them.
package plugin

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Registry holds the factories of one plugin family by name. Plugins
// register from init functions; a wiring mistake (empty or duplicate name,
// nil factory) panics at start rather than silently replacing a plugin.
type Registry[F any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]F
}

// NewRegistry makes the registry of a family; kind names it in messages
// ("polling plugin", "sink type").
func NewRegistry[F any](kind string) *Registry[F] {
	return &Registry[F]{kind: kind, m: map[string]F{}}
}

// Kind is the family's name in messages.
func (r *Registry[F]) Kind() string { return r.kind }

// Register makes f available under name. It panics on an empty name, a nil
// factory or a name registered twice.
func (r *Registry[F]) Register(name string, f F) {
	if strings.TrimSpace(name) == "" {
		panic(fmt.Sprintf("register %s: empty name", r.kind))
	}
	if isNil(f) {
		panic(fmt.Sprintf("register %s %s: nil factory", r.kind, name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("register %s %s: registered twice", r.kind, name))
	}
	r.m[name] = f
}

// Lookup returns the factory registered under name, or an *UnknownError
// that lists the registered names.
func (r *Registry[F]) Lookup(name string) (F, error) {
	r.mu.RLock()
	f, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		var zero F
		return zero, &UnknownError{Kind: r.kind, Name: name, Registered: r.Names()}
	}
	return f, nil
}

// Names lists the registered names, sorted.
func (r *Registry[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// UnknownError is a name no plugin of the family is registered under.
type UnknownError struct {
	Kind       string
	Name       string
	Registered []string
}

func (e *UnknownError) Error() string {
	known := strings.Join(e.Registered, ", ")
	if known == "" {
		known = "none"
	}
	return fmt.Sprintf("unknown %s %q (registered: %s)", e.Kind, e.Name, known)
}

func isNil[F any](f F) bool {
	v := reflect.ValueOf(&f).Elem()
	switch v.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Map, reflect.Interface, reflect.Slice, reflect.Chan:
		return v.IsNil()
	}
	return false
}
