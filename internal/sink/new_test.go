package sink

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   config.Sink
		field string
		want  string
	}{
		{"no name", config.Sink{Type: "test_file", Options: fileBlock("x")}, "name", "is empty"},
		{"unknown type", config.Sink{Name: "k", Type: "nosuch", Options: fileBlock("x")}, "type", `unknown sink type "nosuch" (registered: `},
		{"unknown key", config.Sink{Name: "f", Type: "test_file", Options: plugin.BlockOf(map[string]any{"path": "x", "max_sise": 1})}, "max_sise", `unknown key "max_sise"`},
		{"foreign subject", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), Subjects: []string{"a", "other.>"}}, "subjects[0]", `"a" is not a metrics subject`},
		{"batch size", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), BatchSize: -1}, "batch_size", "out of range"},
		{"batch timeout", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), BatchTimeout: -1}, "batch_timeout", "negative"},
		{"max backoff", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), MaxBackoff: -1}, "max_backoff", "negative"},
		{"empty source", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), Source: map[string]plugin.Block{}}, "source", "names no source"},
		{"two sources", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), Source: map[string]plugin.Block{"kafka": {}, "x": {}}}, "source", "names kafka and x; give one (kafka)"},
		{"unknown source", config.Sink{Name: "f", Type: "test_file", Options: fileBlock("x"), Source: map[string]plugin.Block{"x": {}}}, "source.x", `unknown sink source "x" (registered: kafka)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, Deps{})
			// The consumer's own fields are field errors; the sink's
			// block gives located errors (no file for a block made in Go).
			var fe *plugin.FieldError
			var pe *plugin.Error
			switch {
			case errors.As(err, &fe):
				if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.want) {
					t.Fatalf("New error = %v, want a field error on %s containing %q", err, tc.field, tc.want)
				}
			case errors.As(err, &pe):
				if pe.Key != tc.field || !strings.Contains(pe.Msg, tc.want) {
					t.Fatalf("New error = %v, want an error at %s containing %q", err, tc.field, tc.want)
				}
			default:
				t.Fatalf("New error = %v, want one about %s", err, tc.field)
			}
			if tc.cfg.Name != "" && !strings.HasPrefix(err.Error(), "sink "+tc.cfg.Name+": ") {
				t.Errorf("error %q does not name the sink", err)
			}
		})
	}
	c, err := New(config.Sink{Name: "f", Type: "test_file", Options: fileBlock(filepath.Join(t.TempDir(), "never", "out.jsonl"))}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if c.pace.Batch != DefaultBatchSize || c.pace.MaxWait != DefaultBatchTimeout || c.pace.BackoffMax != DefaultMaxBackoff {
		t.Errorf("pacing defaults: %+v", c.pace)
	}
}

func TestDurableName(t *testing.T) {
	for in, want := range map[string]string{
		"file": "sink_file", "my.file sink": "sink_my_file_sink", "a*b>c": "sink_a_b_c", "x-y_z": "sink_x-y_z",
	} {
		if got := DurableName(in); got != want {
			t.Errorf("DurableName(%q) = %q, want %q", in, got, want)
		}
	}
}
