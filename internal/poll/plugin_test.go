package poll

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
)

type pluginFunc func(ctx context.Context, req *Request) ([]*metric.Group, error)

func (f pluginFunc) Poll(ctx context.Context, req *Request) ([]*metric.Group, error) {
	return f(ctx, req)
}

func TestRegisterRejectsMistakes(t *testing.T) {
	ok := func(map[string]any) (Plugin, error) { return nil, nil }
	for name, call := range map[string]func(){
		"empty name":  func() { Register(" ", ok) },
		"nil factory": func() { Register("test-nil-factory", nil) },
		"duplicate":   func() { Register("interface", ok) },
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
	var got map[string]any
	Register("test-echo", func(o map[string]any) (Plugin, error) {
		got = o
		if o["fail"] == true {
			return nil, errors.New("option fail: refused")
		}
		return pluginFunc(func(context.Context, *Request) ([]*metric.Group, error) { return nil, nil }), nil
	})
	names := Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "interface") || !slices.Contains(names, "test-echo") {
		t.Errorf("Names() = %v", names)
	}
	if p, err := New("test-echo", map[string]any{"a": 1}); err != nil || p == nil || got["a"] != 1 {
		t.Errorf("New passed options %v, err %v", got, err)
	}
	if _, err := New("test-echo", map[string]any{"fail": true}); err == nil ||
		err.Error() != "polling plugin test-echo: option fail: refused" {
		t.Errorf("factory error not named: %v", err)
	}
	_, err := New("interfaces", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown polling plugin "interfaces"`) ||
		!strings.Contains(err.Error(), "interface, ") || !strings.Contains(err.Error(), "test-echo") {
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
