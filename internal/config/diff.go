package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/panoptes-go/panoptes/internal/plugin"
)

// Diff is what changed between a running config and a new one, for a
// reload: the plugin instances of each swappable kind by name, the keys
// applied in place, and the keys that only a restart applies.
type Diff struct {
	Plugins Changes // polling.plugins
	Sources Changes // discovery.sources
	Sinks   Changes // sinks
	Inputs  Changes // inputs
	Apps    Changes // apps
	// Live are other keys whose change a reload applies in place.
	Live []string
	// Restart are the keys whose change needs a restart (bus, cluster,
	// data_dir, http, site, roles, ...): a reload refuses them.
	Restart []string
}

// Changes names the instances of one kind added, removed and changed
// (any key of theirs, or a file one names through <key>_file), sorted.
type Changes struct {
	Added, Removed, Changed []string
}

// Empty reports whether nothing was added, removed or changed.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Changed) == 0 }

// Touched reports whether the instance name was added, removed or changed.
func (c Changes) Touched(name string) bool {
	return slices.Contains(c.Added, name) || slices.Contains(c.Removed, name) || slices.Contains(c.Changed, name)
}

// live reports whether a reload applies key (besides the plugin
// instances) without a restart: log.level, the checks running at once,
// discovery's interval, and the SNMP defaults and credentials targets are
// resolved with (not the session pool's transport and per-device limit).
func live(key string) bool {
	switch {
	case key == "log.level", key == "polling.max_concurrent_checks", key == "discovery.interval":
		return true
	case key == "snmp.transport", key == "snmp.max_requests_per_device":
		return false
	}
	return strings.HasPrefix(key, "snmp.")
}

// LiveChanged reports whether a key applied in place under prefix
// ("snmp", "log.level") changed.
func (d Diff) LiveChanged(prefix string) bool {
	for _, k := range d.Live {
		if k == prefix || strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// Compare tells what changed from old to new. Secrets are compared but
// never shown: a Diff holds key paths and instance names only.
func Compare(old, new *Config) Diff {
	var d Diff
	d.Plugins = compareNamed(old.Polling.Plugins, new.Polling.Plugins, func(p Plugin) string { return p.Name })
	d.Sinks = compareNamed(old.Sinks, new.Sinks, func(s Sink) string { return s.Name })
	d.Inputs = compareNamed(old.Inputs, new.Inputs, func(i Input) string { return i.Name })
	d.Apps = compareNamed(old.Apps, new.Apps, func(a App) string { return a.Name })
	d.Sources = compareNamed(old.Discovery.Sources, new.Discovery.Sources, func(s Source) string { return s.Name })
	// Sources are built with the defaults: new defaults change them all.
	if paths(reflect.ValueOf(old.Discovery.Defaults), reflect.ValueOf(new.Discovery.Defaults), "discovery.defaults") != nil {
		for _, s := range new.Discovery.Sources {
			if !d.Sources.Touched(s.Name) {
				d.Sources.Changed = append(d.Sources.Changed, s.Name)
			}
		}
		slices.Sort(d.Sources.Changed)
	}

	// Everything else: the swappable lists (and the defaults just seen)
	// are blanked on copies, so that what differs is the rest.
	o, n := *old, *new
	for _, c := range []*Config{&o, &n} {
		c.Polling.Plugins, c.Sinks, c.Inputs, c.Apps, c.Discovery.Sources = nil, nil, nil, nil, nil
		c.Discovery.Defaults = ResourceDefaults{}
		c.doc = nil
	}
	for _, p := range paths(reflect.ValueOf(o), reflect.ValueOf(n), "") {
		if live(p) {
			d.Live = append(d.Live, p)
		} else {
			d.Restart = append(d.Restart, p)
		}
	}
	return d
}

// Empty reports whether the configs are the same.
func (d Diff) Empty() bool {
	return d.Plugins.Empty() && d.Sources.Empty() && d.Sinks.Empty() && d.Inputs.Empty() && d.Apps.Empty() &&
		len(d.Live) == 0 && len(d.Restart) == 0
}

// Err is nil when a reload can apply the diff, or an error naming every
// key that needs a restart.
func (d Diff) Err() error {
	if len(d.Restart) == 0 {
		return nil
	}
	return fmt.Errorf("restart needed for %s: a reload applies polling.plugins, polling.max_concurrent_checks, sinks, inputs, apps, discovery.sources, discovery.interval, snmp (but its transport and max_requests_per_device) and log.level; the running config is kept",
		strings.Join(d.Restart, ", "))
}

// String says what changed, in one line: "sinks: added influx; polling.plugins:
// changed interface; log.level", or "no change".
func (d Diff) String() string {
	var parts []string
	for _, k := range []struct {
		key string
		c   Changes
	}{{"polling.plugins", d.Plugins}, {"discovery.sources", d.Sources}, {"sinks", d.Sinks}, {"inputs", d.Inputs}, {"apps", d.Apps}} {
		var what []string
		for _, w := range []struct {
			verb  string
			names []string
		}{{"added", k.c.Added}, {"removed", k.c.Removed}, {"changed", k.c.Changed}} {
			if len(w.names) > 0 {
				what = append(what, w.verb+" "+strings.Join(w.names, ", "))
			}
		}
		if len(what) > 0 {
			parts = append(parts, k.key+": "+strings.Join(what, ", "))
		}
	}
	parts = append(parts, d.Live...)
	if len(d.Restart) > 0 {
		parts = append(parts, "restart needed for "+strings.Join(d.Restart, ", "))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// compareNamed compares two lists of instances by name.
func compareNamed[T any](old, new []T, name func(T) string) Changes {
	var c Changes
	before := map[string]T{}
	for _, o := range old {
		before[name(o)] = o
	}
	after := map[string]bool{}
	for _, n := range new {
		after[name(n)] = true
		o, ok := before[name(n)]
		switch {
		case !ok:
			c.Added = append(c.Added, name(n))
		case paths(reflect.ValueOf(o), reflect.ValueOf(n), "") != nil:
			c.Changed = append(c.Changed, name(n))
		}
	}
	for _, o := range old {
		if !after[name(o)] {
			c.Removed = append(c.Removed, name(o))
		}
	}
	slices.Sort(c.Added)
	slices.Sort(c.Removed)
	slices.Sort(c.Changed)
	return c
}

var blockType = reflect.TypeFor[plugin.Block]()

// paths lists the key paths (as written in the file) under key where a
// and b, of the same type, differ; a plugin block is compared by its
// fingerprint and shown as a whole.
func paths(a, b reflect.Value, key string) []string {
	if a.Type() == blockType {
		if a.Interface().(plugin.Block).Fingerprint() != b.Interface().(plugin.Block).Fingerprint() {
			return []string{key}
		}
		return nil
	}
	switch a.Kind() {
	case reflect.Struct:
		var out []string
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			sub := key
			if !strings.Contains(opts, "inline") {
				sub = join(key, name)
			}
			out = append(out, paths(a.Field(i), b.Field(i), sub)...)
		}
		return out
	case reflect.Map:
		var out []string
		keys := map[string]reflect.Value{}
		for _, m := range []reflect.Value{a, b} {
			for _, k := range m.MapKeys() {
				keys[fmt.Sprint(k.Interface())] = k
			}
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			av, bv := a.MapIndex(keys[n]), b.MapIndex(keys[n])
			switch {
			case !av.IsValid() || !bv.IsValid():
				out = append(out, join(key, n))
			default:
				out = append(out, paths(av, bv, join(key, n))...)
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return []string{key}
		}
		var out []string
		for i := range a.Len() {
			out = append(out, paths(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", key, i))...)
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{key}
			}
			return nil
		}
		if a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type() {
			return []string{key}
		}
		return paths(a.Elem(), b.Elem(), key)
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{key}
	}
	return nil
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}
