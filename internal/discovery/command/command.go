// Package command is the discovery source "command": it runs a program (a
// CMDB adapter script) and reads the devices it prints, as CSV with a
// header row or Panoptes JSON. See README.md.
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/panoptes-go/panoptes/internal/discovery"
	"github.com/panoptes-go/panoptes/internal/plugin"
)

func init() { discovery.Register("command", New) }

// MaxStderr is how much of a command's stderr is kept for the log.
const MaxStderr = 4 << 10

// Config is the source's block: the keys of its discovery.sources entry
// besides name, plugin and the manager's own.
type Config struct {
	// Command is the program to run, without a shell: a path with a slash
	// is relative to the config file, a bare name is looked up in PATH.
	Command string   `yaml:"command"`
	Args    []string `yaml:"args"`
	// Format of the output: csv or json; empty detects it (JSON starts
	// with { or [).
	Format string `yaml:"format"`
	// Timeout bounds one run (default 1m).
	Timeout plugin.Duration `yaml:"timeout"`
}

// Command discovers resources from what a program prints: CSV with a header
// row or Panoptes JSON, so a CMDB adapter is a script. A non-zero exit, a
// timeout or empty output fails the source (the manager keeps the previous
// inventory). The program runs without a shell, in its own process group,
// which is killed on timeout.
type Command struct {
	name     string
	command  string
	args     []string
	format   string
	timeout  time.Duration
	defaults discovery.Defaults
	now      func() time.Time
}

var _ discovery.Source = (*Command)(nil)

// New is the source's factory: it checks its block and runs nothing.
func New(options plugin.Block, deps discovery.Deps) (discovery.Source, error) {
	var c Config
	if err := options.Decode(&c); err != nil {
		return nil, err
	}
	var errs []error
	if strings.TrimSpace(c.Command) == "" {
		errs = append(errs, plugin.Errorf("command", "is empty; give the program that prints the devices as CSV or JSON"))
	}
	if err := discovery.CheckFormat(c.Format); err != nil {
		errs = append(errs, plugin.Errorf("format", "%v", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, plugin.Errorf("timeout", "%s must not be negative", c.Timeout.D()))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if strings.ContainsRune(c.Command, '/') { // "./cmdb-export.sh" is next to the config
		c.Command = options.Abs(c.Command)
	}
	timeout := c.Timeout.D()
	if timeout == 0 {
		timeout = discovery.DefaultSourceTimeout
	}
	return &Command{name: deps.Name, command: c.Command, args: c.Args, format: c.Format,
		timeout: timeout, defaults: deps.Defaults, now: time.Now}, nil
}

// Discover runs the command once and parses its stdout. Its stderr, cleaned
// of secret environment values and bounded, becomes a warning on success and
// part of the error on failure.
func (c *Command) Discover(ctx context.Context) (*discovery.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	label := "command " + filepath.Base(c.command)

	cmd := exec.CommandContext(ctx, c.command, c.args...)
	cmd.Env = os.Environ() // a CMDB token reaches the script this way
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild that keeps the pipes open must not hang the run.
	cmd.WaitDelay = 2 * time.Second
	stdout := &limitedBuffer{max: discovery.MaxSourceOutput}
	stderr := &limitedBuffer{max: MaxStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	err := cmd.Run()
	errText := newRedactor(cmd.Env).clean(stderr.String())
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("%s: timed out after %s (raise the source's timeout?)%s", label, c.timeout, stderrSuffix(errText))
	case stdout.overflow:
		return nil, fmt.Errorf("%s: output larger than %d bytes", label, discovery.MaxSourceOutput)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s: %s%s", label, ee.ProcessState.String(), stderrSuffix(errText))
		}
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	res, err := discovery.ParseOutput(ctx, stdout.Bytes(), c.format, label, c.name, c.defaults, c.now())
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, stderrSuffix(errText))
	}
	if errText != "" {
		res.Warnings = append(res.Warnings, label+" wrote to stderr: "+errText)
	}
	return res, nil
}

func stderrSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "; stderr: " + s
}

// limitedBuffer keeps at most max bytes. Past it, a truncating buffer keeps
// the beginning and marks the cut; a strict one flags the overflow.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	truncate bool
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		if !b.truncate {
			return 0, errors.New("output too large")
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }

// String is the text trimmed, valid UTF-8, with a mark when it was cut.
func (b *limitedBuffer) String() string {
	s := strings.TrimSpace(strings.ToValidUTF8(b.buf.String(), "?"))
	if b.overflow && utf8.ValidString(s) {
		s += " …(truncated)"
	}
	return s
}

// redactor replaces the values of secret-looking environment variables
// (CMDB_TOKEN, API_PASSWORD...) in text a command printed, so a script
// that echoes its token does not put it in the log.
type redactor struct{ secrets []string }

func newRedactor(env []string) redactor {
	var r redactor
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if ok && len(val) >= 4 && discovery.IsSecretName(name) {
			r.secrets = append(r.secrets, val)
		}
	}
	return r
}

func (r redactor) clean(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}
