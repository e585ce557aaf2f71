package mapping_test

import (
	"testing"

	"github.com/panoptes-go/panoptes/gnmimaps"
	"github.com/panoptes-go/panoptes/internal/gnmi/mapping"
)

func TestShippedMappingsLoad(t *testing.T) {
	maps, err := mapping.LoadFS(gnmimaps.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 4 {
		t.Fatalf("%d mappings, want 4", len(maps))
	}
}
