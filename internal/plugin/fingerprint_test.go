package plugin

import (
	"os"
	"path/filepath"
	"testing"
)

func decodeIn(t *testing.T, dir, text string) *core {
	t.Helper()
	d, err := ParseDoc(filepath.Join(dir, "c.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var c core
	if err := d.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := decodeIn(t, dir, "sinks:\n- name: a\n  type: file\n  path: /x\n  token_file: token\nchecks:\n- name: c\n  options: {x: 1, y: [a, b]}\n")
	// The same settings in another order, layout and with comments.
	same := decodeIn(t, dir, "# hello\nchecks:\n- name: c\n  options:\n    y: [a, b]\n    x: 1\nsinks:\n- token_file: token\n  type: file\n  name: a\n  path: /x # here\n")
	if base.Sinks[0].Options.Fingerprint() != same.Sinks[0].Options.Fingerprint() {
		t.Error("a sink written in another order has another fingerprint")
	}
	if base.Checks[0].Options.Fingerprint() != same.Checks[0].Options.Fingerprint() {
		t.Error("options written in another order have another fingerprint")
	}
	// The inline block leaves the sink's own keys out: a rename is not a
	// change of its options.
	renamed := decodeIn(t, dir, "sinks:\n- name: b\n  type: file\n  path: /x\n  token_file: token\n")
	if base.Sinks[0].Options.Fingerprint() != renamed.Sinks[0].Options.Fingerprint() {
		t.Error("the sink's name counts in its options' fingerprint")
	}
	other := decodeIn(t, dir, "sinks:\n- name: a\n  type: file\n  path: /y\n  token_file: token\nchecks:\n- name: c\n  options: {x: 2, y: [a, b]}\n")
	if base.Sinks[0].Options.Fingerprint() == other.Sinks[0].Options.Fingerprint() {
		t.Error("another path has the same fingerprint")
	}
	if base.Checks[0].Options.Fingerprint() == other.Checks[0].Options.Fingerprint() {
		t.Error("another option value has the same fingerprint")
	}
	// A secret file rewritten: the block loaded before keeps the old
	// content's fingerprint, one loaded after has the new one.
	if err := os.WriteFile(tokenFile, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	after := decodeIn(t, dir, "sinks:\n- name: a\n  type: file\n  path: /x\n  token_file: token\n")
	if base.Sinks[0].Options.Fingerprint() == after.Sinks[0].Options.Fingerprint() {
		t.Error("a rewritten secret file does not change the fingerprint")
	}
	if fp := after.Sinks[0].Options.Fingerprint(); len(fp) != 64 {
		t.Errorf("fingerprint %q: want a sha256 in hex", fp)
	}
}
