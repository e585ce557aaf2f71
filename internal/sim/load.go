package sim

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SnmpsimExamples is where Debian's snmpsim package ships its recordings; a
// template name that is neither built in nor a file is looked up there.
const SnmpsimExamples = "/usr/share/doc/snmpsim/examples/data"

// LoadRecording reads a recording file: snmpsim's .snmprec or net-snmp
// snmpwalk -On output, either gzipped (detected by content). The format
// comes from the extension (.snmprec; .snmpwalk, .walk, .txt) or, failing
// that, from the first line.
func LoadRecording(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	r, err := readRecording(f, path)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	return r, nil
}

func readRecording(rd io.Reader, path string) (*Recording, error) {
	br := bufio.NewReaderSize(rd, 64*1024)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 64*1024)
	}
	base := strings.TrimSuffix(filepath.Base(path), ".gz")
	ext := filepath.Ext(base)
	b := &builder{name: strings.TrimSuffix(base, ext), source: path}
	walk := false
	switch ext {
	case ".snmprec":
	case ".snmpwalk", ".walk", ".txt":
		walk = true
	default:
		head, _ := br.Peek(4096)
		first, _, _ := strings.Cut(strings.TrimLeft(string(head), " \r\n"), "\n")
		switch {
		case strings.Contains(first, " = "):
			walk = true
		case strings.Count(first, "|") >= 2:
		default:
			return nil, fmt.Errorf("unknown format: want snmprec (OID|TAG|VALUE) or snmpwalk -On output (OID = TYPE: VALUE), first line %q", clip(first))
		}
	}
	var err error
	if walk {
		err = parseWalk(br, b)
	} else {
		err = parseSnmprec(br, b)
	}
	if err != nil {
		return nil, err
	}
	return b.freeze()
}

// Builtins lists the built-in synthetic templates.
func Builtins() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// resolveTemplate finds a template: a built-in name, a recording file, or
// the name of a recording in SnmpsimExamples ("cisco_16_switch").
func resolveTemplate(name string) (*Recording, error) {
	if mk, ok := builtins[name]; ok {
		return mk(), nil
	}
	if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
		return LoadRecording(name)
	}
	if !strings.ContainsRune(name, os.PathSeparator) && name != "" {
		for _, ext := range []string{".snmprec", ".snmprec.gz", ".snmpwalk", ".snmpwalk.gz"} {
			p := filepath.Join(SnmpsimExamples, name+ext)
			if _, err := os.Stat(p); err == nil {
				return LoadRecording(p)
			}
		}
	}
	return nil, fmt.Errorf("template %q: not a built-in (%s), not a readable file, and not a recording in %s",
		name, strings.Join(Builtins(), ", "), SnmpsimExamples)
}
