package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// The plugin's fingerprint follows the profile files' content (a config
// reload replaces the plugin when one was edited) and its group types.
func TestPluginFingerprint(t *testing.T) {
	dir := t.TempDir()
	src, err := filepath.Glob("../../profiles/*.yaml")
	if err != nil || len(src) == 0 {
		t.Fatalf("shipped profiles: %v %v", src, err)
	}
	for _, f := range src {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fingerprint := func(types ...string) string {
		t.Helper()
		set, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlugin(set, types)
		if err != nil {
			t.Fatal(err)
		}
		return p.Fingerprint()
	}
	first := fingerprint()
	if again := fingerprint(); again != first {
		t.Fatal("the same files give another fingerprint")
	}
	if fingerprint("cpu") == first {
		t.Error("a restricted group type has the same fingerprint")
	}
	edited := filepath.Join(dir, filepath.Base(src[0]))
	data, _ := os.ReadFile(edited)
	if err := os.WriteFile(edited, append(data, []byte("\n# edited\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if fingerprint() == first {
		t.Error("an edited profile file leaves the fingerprint as it was")
	}
}
