package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTopologyExamples: every config example of docs/TOPOLOGY.md loads
// (secrets from the environment set to a placeholder), so the documented
// bus keys stay real.
func TestTopologyExamples(t *testing.T) {
	const doc = "../../docs/TOPOLOGY.md"
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatchIndex(string(raw), -1)
	if len(blocks) < 3 {
		t.Fatalf("%s has %d yaml examples, want the hub, edge and poller configs", doc, len(blocks))
	}
	anyVar := func(string) (string, bool) { return "placeholder", true }
	for _, b := range blocks {
		line := strings.Count(string(raw[:b[0]]), "\n") + 2
		example := string(raw[b[2]:b[3]])
		if _, err := Parse(doc, []byte(strings.Repeat("\n", line-1)+example), anyVar); err != nil {
			t.Errorf("the example at %s:%d does not load:\n%v", doc, line, err)
		}
	}
}
