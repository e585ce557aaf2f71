package archtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxNodeLines bounds internal/node: it is wiring only (issue 13). A role
// that grows there belongs in a package of its own (parts, poller,
// devicestate, collector, cluster, httpd, service, ...).
const maxNodeLines = 400

// TestNodeIsWiring counts the lines of internal/node's non-test Go files
// (every line, as wc -l does).
func TestNodeIsWiring(t *testing.T) {
	files, err := filepath.Glob("../node/*.go")
	if err != nil {
		t.Fatal(err)
	}
	total, counted := 0, 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += bytes.Count(b, []byte("\n"))
		counted++
	}
	if counted == 0 {
		t.Fatal("no Go files found in internal/node")
	}
	if total >= maxNodeLines {
		t.Errorf("internal/node has %d lines of non-test Go (wc -l internal/node/*.go without tests), want under %d: move the role that grew into its own package", total, maxNodeLines)
	}
}
