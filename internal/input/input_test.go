package input

import (
	"context"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/plugin"
	"github.com/panoptes-go/panoptes/internal/resource"
)

type nopInput struct{ endpoint string }

func (n *nopInput) Open(res *resource.Resource) (Stream, error) { return nil, nil }

type nopStream struct{}

func (nopStream) Run(ctx context.Context, _ func(*metric.GroupSet)) error { <-ctx.Done(); return nil }

func TestRegistry(t *testing.T) {
	Register("test-nop", func(o plugin.Block, d Deps) (Input, error) {
		var c struct {
			Endpoint string `yaml:"endpoint"`
		}
		if err := o.Decode(&c); err != nil {
			return nil, err
		}
		if c.Endpoint == "" {
			return nil, plugin.Errorf("endpoint", "is empty")
		}
		return &nopInput{endpoint: c.Endpoint}, nil
	})
	in, err := Build("test-nop", plugin.BlockOf(map[string]any{"endpoint": "x:1"}), Deps{Name: "n"})
	if err != nil || in.(*nopInput).endpoint != "x:1" {
		t.Fatalf("Build = %v, %v", in, err)
	}
	if _, err := Build("test-nop", plugin.BlockOf(map[string]any{}), Deps{}); err == nil || !strings.Contains(err.Error(), "endpoint: is empty") {
		t.Errorf("a factory's field error: %v", err)
	}
	if _, err := Build("gnmii", plugin.Block{}, Deps{}); err == nil || !strings.Contains(err.Error(), `unknown streaming input "gnmii" (registered: test-nop)`) {
		t.Errorf("an unknown input: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a duplicate registration did not panic")
			}
		}()
		Register("test-nop", func(plugin.Block, Deps) (Input, error) { return nil, nil })
	}()
	var _ Stream = nopStream{}
}
