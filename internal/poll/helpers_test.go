package poll

import (
	"time"

	"github.com/panoptes-go/panoptes/internal/resource"
)

// testResource and testNow are the resource and check start of this
// package's tests (package polltest has the same for plugins' tests).
var testResource = &resource.Resource{
	Site: "site1", Class: "network", Subclass: "switch", Type: "cisco",
	ID: "sw1.example.com", Endpoint: "sw1.example.com", Plugin: "discovery_csv",
}

var testNow = time.Unix(1535497112, 75_000_000)
