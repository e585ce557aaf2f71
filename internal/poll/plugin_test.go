package poll

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

type pluginFunc func(ctx context.Context, req *Request) ([]*metric.Group, error)

func (f pluginFunc) Poll(ctx context.Context, req *Request) ([]*metric.Group, error) {
	return f(ctx, req)
}

func TestRegisterRejectsMistakes(t *testing.T) {
	ok := func(plugin.Block) (Plugin, error) { return nil, nil }
	Register("test-once", ok)
	for name, call := range map[string]func(){
		"empty name":  func() { Register(" ", ok) },
		"nil factory": func() { Register("test-nil-factory", nil) },
		"duplicate":   func() { Register("test-once", ok) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			call()
		}()
	}
	if slices.Contains(Names(), "test-nil-factory") {
		t.Error("a rejected plugin was registered")
	}
}

func TestNewAndNames(t *testing.T) {
	var got struct {
		A    int  `yaml:"a"`
		Fail bool `yaml:"fail"`
	}
	Register("test-echo", func(o plugin.Block) (Plugin, error) {
		if err := o.Decode(&got); err != nil {
			return nil, err
		}
		if got.Fail {
			return nil, errors.New("refused")
		}
		return pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) { return nil, nil }), nil
	})
	names := Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "test-once") || !slices.Contains(names, "test-echo") {
		t.Errorf("Names() = %v", names)
	}
	if p, err := New("test-echo", map[string]any{"a": 1}); err != nil || p == nil || got.A != 1 {
		t.Errorf("New passed options %v, err %v", got, err)
	}
	if _, err := New("test-echo", map[string]any{"fail": true}); err == nil ||
		err.Error() != "polling plugin test-echo: refused" {
		t.Errorf("factory error not named: %v", err)
	}
	if _, err := New("test-echo", map[string]any{"b": 1}); err == nil ||
		err.Error() != `polling plugin test-echo: b: unknown key "b" (check its spelling and indentation; known keys here: a, fail)` {
		t.Errorf("an unknown option: %v", err)
	}
	_, err := New("interfaces", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown polling plugin "interfaces"`) ||
		!strings.Contains(err.Error(), "test-echo, test-once") {
		t.Errorf("unknown plugin error should list the registered ones: %v", err)
	}
}

func TestWithStatus(t *testing.T) {
	if WithStatus(metric.StatusMissingMetrics, nil) != nil {
		t.Error("WithStatus(nil) should be nil")
	}
	base := errors.New("no rows")
	err := WithStatus(metric.StatusMissingMetrics, base)
	if !errors.Is(err, base) || err.Error() != "no rows" {
		t.Errorf("WithStatus lost the cause: %v", err)
	}
}
