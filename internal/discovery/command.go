package discovery

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

	"github.com/panoptes-go/panoptes/internal/config"
)

func init() { Register("command", newCommand) }

// MaxStderr is how much of a command's stderr is kept for the log.
const MaxStderr = 4 << 10

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
	defaults config.ResourceDefaults
	now      func() time.Time
}

var _ Source = (*Command)(nil)

func newCommand(cfg config.Source, d config.ResourceDefaults) (Source, error) {
	if strings.TrimSpace(cfg.Command) == "" {
		return nil, errors.New("command plugin needs command: the program that prints the devices as CSV or JSON")
	}
	if err := checkFormat(cfg.Format); err != nil {
		return nil, err
	}
	return &Command{name: cfg.Name, command: cfg.Command, args: cfg.Args, format: cfg.Format,
		timeout: sourceTimeout(cfg.Timeout), defaults: withFallbacks(d), now: time.Now}, nil
}

// Discover runs the command once and parses its stdout. Its stderr, cleaned
// of secret environment values and bounded, becomes a warning on success and
// part of the error on failure.
func (c *Command) Discover(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	label := "command " + filepath.Base(c.command)

	cmd := exec.CommandContext(ctx, c.command, c.args...)
	cmd.Env = os.Environ() // a CMDB token reaches the script this way
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild that keeps the pipes open must not hang the run.
	cmd.WaitDelay = 2 * time.Second
	stdout := &limitedBuffer{max: MaxSourceOutput}
	stderr := &limitedBuffer{max: MaxStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	err := cmd.Run()
	errText := newRedactor(cmd.Env).clean(stderr.String())
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("%s: timed out after %s (raise the source's timeout?)%s", label, c.timeout, stderrSuffix(errText))
	case stdout.overflow:
		return nil, fmt.Errorf("%s: output larger than %d bytes", label, MaxSourceOutput)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("%s: %s%s", label, ee.ProcessState.String(), stderrSuffix(errText))
		}
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	res, err := parseOutput(ctx, stdout.Bytes(), c.format, label, c.name, c.defaults, c.now())
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
