package apps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

type nopApp struct{ every string }

func (nopApp) Run(ctx context.Context, _ *Env) error { <-ctx.Done(); return nil }

// An app type is a role: registered, it is one of the known roles (and so
// a default one), a config may list it, and a built-in role's name is
// refused.
func TestRegister(t *testing.T) {
	Register("test-nop", func(o plugin.Block, d Deps) (App, error) {
		var c struct {
			Every string `yaml:"every"`
		}
		if err := o.Decode(&c); err != nil {
			return nil, err
		}
		if c.Every == "" {
			return nil, plugin.Errorf("every", "is empty")
		}
		return nopApp{every: c.Every}, nil
	})
	if !slices.Contains(config.KnownRoles(), "test-nop") {
		t.Errorf("the app's role is not known: %v", config.KnownRoles())
	}
	noEnv := func(string) (string, bool) { return "", false }
	if cfg, err := config.Parse("a.yaml", []byte("site: s\n"), noEnv); err != nil || !slices.Contains(cfg.Roles, "test-nop") {
		t.Errorf("default roles %v (%v), want the app's among them", cfg, err)
	}
	if _, err := config.Parse("a.yaml", []byte("site: s\nroles: [poller, test-nop]\n"), noEnv); err != nil {
		t.Errorf("a config listing the app's role: %v", err)
	}
	a, err := Build("test-nop", plugin.BlockOf(map[string]any{"every": "1s"}), Deps{Name: "n"})
	if err != nil || a.(nopApp).every != "1s" {
		t.Fatalf("Build = %v, %v", a, err)
	}
	if _, err := Build("test-nop", plugin.BlockOf(map[string]any{}), Deps{}); err == nil || !strings.Contains(err.Error(), "every: is empty") {
		t.Errorf("a factory's field error: %v", err)
	}
	if _, err := Build("topolgy", plugin.Block{}, Deps{}); err == nil || !strings.Contains(err.Error(), `unknown app type "topolgy"`) {
		t.Errorf("an unknown type: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("an app type named after a built-in role did not panic")
		}
	}()
	Register(config.RolePoller, func(plugin.Block, Deps) (App, error) { return nopApp{}, nil })
}
