package poller

import (
	"context"
	"testing"

	"github.com/panoptes-go/panoptes/internal/metric"
	"github.com/panoptes-go/panoptes/internal/poll"
)

type plain struct{}

func (plain) Poll(context.Context, *poll.Request) ([]*metric.Group, error) { return nil, nil }

type withFiles struct {
	plain
	sum string
}

func (w withFiles) Fingerprint() string { return w.sum }

// An unchanged plugin is replaced on a reload only when it says the files
// it read changed (the profile plugin's profiles).
func TestFilesChanged(t *testing.T) {
	for _, c := range []struct {
		running, built poll.Plugin
		want           bool
	}{
		{plain{}, plain{}, false},
		{withFiles{sum: "a"}, withFiles{sum: "a"}, false},
		{withFiles{sum: "a"}, withFiles{sum: "b"}, true},
		{plain{}, withFiles{sum: "b"}, false},
	} {
		if got := filesChanged(c.running, c.built); got != c.want {
			t.Errorf("filesChanged(%v, %v) = %v, want %v", c.running, c.built, got, c.want)
		}
	}
}
