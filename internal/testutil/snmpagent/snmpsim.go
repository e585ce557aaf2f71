package snmpagent

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SnmpsimExamples is where Debian's snmpsim package ships its recordings.
const SnmpsimExamples = "/usr/share/doc/snmpsim/examples/data"

// SnmpsimUser is the SNMPv3 user StartSnmpsim configures. With snmpsim the
// v3 context name selects the recording, as the community does for v1/v2c.
var SnmpsimUser = V3User{Name: "panoptes-sim", Level: "authPriv",
	AuthProto: "SHA", AuthPass: "sim-auth-pass", PrivProto: "AES", PrivPass: "sim-priv-pass"}

// StartSnmpsim starts snmpsimd on a free loopback UDP port serving the given
// recordings. A recording is a name without extension looked up in
// SnmpsimExamples ("cisco_16_switch", .snmprec or .snmprec.gz), or a path to
// a .snmprec(.gz) file or to a directory of them. The community (and the v3
// context name) is the recording's name; Agent.Community is the first one.
// It stops the agent in t.Cleanup. As root it runs snmpsimd as nobody:nogroup.
func StartSnmpsim(t testing.TB, recordings ...string) *Agent {
	t.Helper()
	Need(t, "snmpsimd")
	if len(recordings) == 0 {
		t.Fatal("StartSnmpsim: name at least one recording")
	}
	// snmpsimd drops privileges, so its directories must be readable by
	// nobody: t.TempDir's parent is 0700, hence a directory of our own.
	dir, err := os.MkdirTemp("", "snmpsim-")
	if err != nil {
		t.Fatalf("snmpsim temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data, cache := filepath.Join(dir, "data"), filepath.Join(dir, "cache")
	for _, d := range []string{data, cache} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatalf("snmpsim dir: %v", err)
		}
	}
	var names []string
	for _, r := range recordings {
		n, err := installRecordings(r, data)
		if err != nil {
			t.Fatalf("snmpsim recording %q: %v", r, err)
		}
		names = append(names, n...)
	}
	// 0777 dirs and 0644 files: readable by the unprivileged process, and
	// the cache dir writable for its index.
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			mode := os.FileMode(0o644)
			if fi.IsDir() {
				mode = 0o777
			}
			_ = os.Chmod(p, mode)
		}
		return nil
	})

	a := &Agent{Host: "127.0.0.1", Community: names[0], V3: map[string]V3User{SnmpsimUser.Name: SnmpsimUser},
		LogFile: filepath.Join(dir, "snmpsimd.log")}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		a.Port = freeUDPPort(t)
		args := []string{
			"--data-dir=" + data, "--cache-dir=" + cache,
			fmt.Sprintf("--agent-udpv4-endpoint=127.0.0.1:%d", a.Port),
			"--logging-method=file:" + a.LogFile,
			"--v3-user=" + SnmpsimUser.Name,
			"--v3-auth-key=" + SnmpsimUser.AuthPass, "--v3-auth-proto=" + SnmpsimUser.AuthProto,
			"--v3-priv-key=" + SnmpsimUser.PrivPass, "--v3-priv-proto=" + SnmpsimUser.PrivProto,
		}
		if os.Geteuid() == 0 {
			args = append(args, "--process-user="+unprivUser(), "--process-group="+unprivGroup())
		}
		cmd := exec.Command("snmpsimd", args...)
		cmd.Dir = dir
		if lastErr = startAndWait(t, cmd, a, 20*time.Second); lastErr == nil {
			return a
		}
	}
	t.Fatalf("start snmpsimd: %v", lastErr)
	return nil
}

func unprivUser() string {
	if _, err := user.Lookup("nobody"); err == nil {
		return "nobody"
	}
	return "daemon"
}

func unprivGroup() string {
	for _, g := range []string{"nogroup", "nobody"} {
		if _, err := user.LookupGroup(g); err == nil {
			return g
		}
	}
	return "daemon"
}

// installRecordings copies (gunzipping) the recording(s) named by r into dst
// and returns their community names.
func installRecordings(r, dst string) ([]string, error) {
	if !strings.ContainsRune(r, os.PathSeparator) {
		for _, ext := range []string{".snmprec", ".snmprec.gz"} {
			if p := filepath.Join(SnmpsimExamples, r+ext); fileExists(p) {
				return installRecordings(p, dst)
			}
		}
		return nil, fmt.Errorf("no %s.snmprec(.gz) in %s (is the snmpsim package installed?)", r, SnmpsimExamples)
	}
	fi, err := os.Stat(r)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(r)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".snmprec") || strings.HasSuffix(e.Name(), ".snmprec.gz") {
				n, err := installRecordings(filepath.Join(r, e.Name()), dst)
				if err != nil {
					return nil, err
				}
				names = append(names, n...)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("directory %s has no .snmprec files", r)
		}
		return names, nil
	}
	base := filepath.Base(r)
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".snmprec")
	if name == base {
		return nil, fmt.Errorf("%s: want a .snmprec or .snmprec.gz file", r)
	}
	if err := copyRecording(r, filepath.Join(dst, name+".snmprec")); err != nil {
		return nil, err
	}
	return []string{name}, nil
}

func copyRecording(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var rd io.Reader = in
	if strings.HasSuffix(src, ".gz") {
		gz, err := gzip.NewReader(in)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		defer gz.Close()
		rd = gz
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rd); err != nil {
		_ = out.Close()
		return fmt.Errorf("%s: %w", src, err)
	}
	return out.Close()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
