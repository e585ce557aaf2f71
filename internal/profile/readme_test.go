package profile

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExample keeps the documented example true: it loads, and the
// documented typo gives the documented error.
func TestReadmeExample(t *testing.T) {
	doc, err := os.ReadFile(shippedDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "### Example: a new model")
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, rest, _ := strings.Cut(rest, "```")
	p, err := Parse("profiles/acme.yaml", []byte(example))
	if err != nil {
		t.Fatalf("the README example does not load: %v", err)
	}
	if p.Name != "acme" || len(p.Groups) != 4 || p.Groups[2].PerRow || !p.Groups[3].Optional {
		t.Errorf("example parsed as %+v", p)
	}
	_, rest, _ = strings.Cut(rest, "```\n")
	wantErr, _, _ := strings.Cut(rest, "\n```")
	typo := strings.Replace(example, "cpu_utilization: acmeCpuLoad", "cpu_utilization: acmeCpuLaod", 1)
	if _, err := Parse("profiles/acme.yaml", []byte(typo)); err == nil || err.Error() != strings.TrimSpace(wantErr) {
		t.Errorf("typo error\n%v\nREADME says\n%s", err, wantErr)
	}
}
