package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// core is a config with the three kinds of block a family can declare.
type core struct {
	Site    string            `yaml:"site"`
	Timeout Duration          `yaml:"timeout"`
	Port    int               `yaml:"port"`
	Secret  string            `yaml:"secret" secret:"true"`
	Sinks   []coreSink        `yaml:"sinks"`
	Checks  []coreCheck       `yaml:"checks"`
	Named   map[string]string `yaml:"named"`
}

type coreSink struct {
	Name    string           `yaml:"name"`
	Type    string           `yaml:"type"`
	Source  map[string]Block `yaml:"source"`
	Options Block            `yaml:",inline"`
}

type coreCheck struct {
	Name    string `yaml:"name"`
	Options Block  `yaml:"options"`
}

type fileSink struct {
	Path    string   `yaml:"path"`
	MaxSize ByteSize `yaml:"max_size"`
	Token   string   `yaml:"token" secret:"true"`
}

func parse(t *testing.T, text string) (*Doc, *core, error) {
	t.Helper()
	d, err := ParseDoc("/etc/p/c.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var c core
	return d, &c, d.Decode(&c)
}

func wantErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	got := Flatten(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(got[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, got[i], w)
		}
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	_, c, err := parse(t, "site: a\ntimeout: fast\nbogus: 1\nport: abc\nnamed: {x: [1]}\n")
	wantErrors(t, err,
		`/etc/p/c.yaml:3: bogus: unknown key "bogus" (check its spelling and indentation; see the config reference in README.md)`,
		`/etc/p/c.yaml:2: timeout: "fast" is not a duration`,
		`/etc/p/c.yaml:4: port: "abc" is a string, want an integer`,
		`/etc/p/c.yaml:5: named.x: found a list, want a string`,
	)
	if c.Site != "a" {
		t.Errorf("the good values must still decode: site = %q", c.Site)
	}
}

func TestBlocks(t *testing.T) {
	d, c, err := parse(t, `sinks:
  - name: f
    type: file
    path: out.jsonl
    max_size: 1KiB
    source:
      kafka: {brokers: [a]}
checks:
  - name: c
    options:
      path: x
      colour: red
`)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sinks[0]
	if s.Options.Key() != "sinks[0]" || s.Source["kafka"].Key() != "sinks[0].source.kafka" || c.Checks[0].Options.Key() != "checks[0].options" {
		t.Fatalf("keys: %q %q %q", s.Options.Key(), s.Source["kafka"].Key(), c.Checks[0].Options.Key())
	}
	var f fileSink
	if err := s.Options.Decode(&f); err != nil {
		t.Fatalf("an inline block holds the keys the struct does not take: %v", err)
	}
	if f.Path != "out.jsonl" || f.MaxSize != 1024 || s.Options.Abs(f.Path) != "/etc/p/out.jsonl" {
		t.Errorf("file sink = %+v, abs %s", f, s.Options.Abs(f.Path))
	}
	var k struct {
		Brokers []string `yaml:"brokers"`
	}
	if err := s.Source["kafka"].Decode(&k); err != nil || len(k.Brokers) != 1 {
		t.Errorf("map block: %+v %v", k, err)
	}
	err = c.Checks[0].Options.Decode(&f)
	wantErrors(t, err, `/etc/p/c.yaml:12: checks[0].options.colour: unknown key "colour" (check its spelling and indentation; known keys here: max_size, path, token)`)
	if got := s.Options.Errorf("path", "is %s", "bad").Error(); got != "/etc/p/c.yaml:4: sinks[0].path: is bad" {
		t.Errorf("Errorf = %q", got)
	}
	if got := s.Options.Errorf("max_files", "unset").Error(); got != "/etc/p/c.yaml:2: sinks[0].max_files: unset" {
		t.Errorf("an unwritten field is shown at its block: %q", got)
	}
	located := s.Options.Locate(errors.Join(&FieldError{Field: "path", Msg: "nope"}, errors.New("plain")))
	wantErrors(t, located, "/etc/p/c.yaml:4: sinks[0].path: nope", "/etc/p/c.yaml:2: sinks[0]: plain")
	if d.Line("sinks[0].path") != 4 {
		t.Errorf("line of sinks[0].path = %d", d.Line("sinks[0].path"))
	}
}

func TestInlineBlockListsCommonKeys(t *testing.T) {
	_, c, err := parse(t, "sinks:\n  - name: f\n    type: file\n    pth: x\n")
	if err != nil {
		t.Fatal(err)
	}
	var f fileSink
	wantErrors(t, c.Sinks[0].Options.Decode(&f),
		`c.yaml:4: sinks[0].pth: unknown key "pth" (check its spelling and indentation; known keys here: max_size, name, path, source, token, type)`)
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("s3cr#t {x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := "secret_file: tok\nsinks:\n  - name: f\n    token_file: " + filepath.Join(dir, "tok") + "\n"
	d, err := ParseDoc(filepath.Join(dir, "c.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var c core
	if err := d.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Secret != "s3cr#t {x}" {
		t.Errorf("secret = %q, want the file's content without its newline, relative to the config", c.Secret)
	}
	var f fileSink
	for range 2 { // a block decodes the same twice: decoding changes no tree
		if err := c.Sinks[0].Options.Decode(&f); err != nil || f.Token != "s3cr#t {x}" {
			t.Errorf("token = %q, %v", f.Token, err)
		}
	}
	if d.Line("secret") != 1 {
		t.Errorf("problems with the secret point at its _file line: line %d", d.Line("secret"))
	}

	_, _, err = parse(t, "secret: a\nsecret_file: /x\nport_file: /y\n")
	wantErrors(t, err, "c.yaml:2: secret_file: is set together with secret", `c.yaml:3: port_file: unknown key "port_file"`)
	_, _, err = parse(t, "secret_file: /nonexistent/secret\n")
	wantErrors(t, err, "c.yaml:1: secret_file: cannot read secret from it: open /nonexistent/secret: no such file")
	// Not a secret: a device (which never ends), a directory, a large file.
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = parse(t, "secret_file: /dev/zero\n")
	wantErrors(t, err, "c.yaml:1: secret_file: cannot read secret from it: /dev/zero is not a regular file")
	_, _, err = parse(t, "secret_file: "+dir+"\n")
	wantErrors(t, err, "secret_file: cannot read secret from it: "+dir+" is not a regular file")
	_, _, err = parse(t, "secret_file: "+big+"\n")
	wantErrors(t, err, "secret_file: cannot read secret from it: "+big+" is larger than 64 KiB: not a secret")
}

func TestBlockOf(t *testing.T) {
	var f fileSink
	if err := BlockOf(map[string]any{"path": "p", "max_size": "2KiB"}).Decode(&f); err != nil || f.MaxSize != 2048 {
		t.Errorf("%+v %v", f, err)
	}
	err := BlockOf(map[string]any{"path": []any{1}, "colr": 1}).Decode(&f)
	wantErrors(t, err, `colr: unknown key "colr"`, "path: found a list, want a string")
	if strings.Contains(err.Error(), ".yaml") || strings.Contains(err.Error(), ":1:") {
		t.Errorf("a block made in Go names keys, not a file or lines: %v", err)
	}
	var none Block
	if err := none.Decode(&f); err != nil || !none.Empty() {
		t.Errorf("an absent block decodes to the defaults: %v", err)
	}
}

func TestDurationAndSize(t *testing.T) {
	var v struct {
		D Duration `yaml:"d"`
		S ByteSize `yaml:"s"`
	}
	if err := BlockOf(map[string]any{"d": 30, "s": "1.5MiB"}).Decode(&v); err != nil || v.D.D() != 30*time.Second || v.S != 3<<19 {
		t.Errorf("%+v %v", v, err)
	}
	for in, want := range map[string]ByteSize{"1024": 1024, "1KiB": 1024, "2GB": 2e9, "512K": 512 << 10} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "MiB", "1XB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}
}

func TestJoinSortsByLine(t *testing.T) {
	a := &Error{File: "f", Line: 9, Key: "a", Msg: "x"}
	b := &Error{File: "f", Line: 2, Key: "b", Msg: "y"}
	c := errors.New("no line")
	got := Join(errors.Join(a, c), b, a).Error()
	if got != "f:2: b: y\nf:9: a: x\nno line" {
		t.Errorf("Join = %q", got)
	}
}
