package plugin

import (
	"errors"
	"fmt"
	"slices"
)

// Error is one problem in a config file, at a line and a key path:
// "panoptes.yaml:12: snmp.timeout: reason". Line is 0 when the key was not
// written (nor any parent), Key is empty when the problem is not about one
// key (a syntax error), File is empty for a block made in Go (BlockOf).
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var at string
	switch {
	case e.File == "":
	case e.Line > 0:
		at = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	default:
		at = e.File + ": "
	}
	if e.Key != "" {
		return at + e.Key + ": " + e.Msg
	}
	return at + e.Msg
}

// FieldError is a problem a plugin found in one of its own fields, Field
// relative to its block ("url", "influxdb.token"). The family that built the
// plugin turns it into an *Error with the file, line and full key path
// (Block.Locate).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errorf makes a *FieldError.
func Errorf(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Flatten lists the leaves of err: the errors joined in it (errors.Join,
// recursively, also under a wrapper such as fmt.Errorf("sink x: %w", ...),
// whose leaves name their own place), or err itself.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(interface{ Unwrap() []error }); ok {
			return Flatten(e)
		}
	}
	return []error{err}
}

// Join joins errors for display, one a line: flattened, without repeats,
// sorted by line (errors that name no line last) so that a file's problems
// read from top to bottom.
func Join(errs ...error) error {
	var flat []error
	seen := map[string]bool{}
	for _, err := range errs {
		for _, e := range Flatten(err) {
			if s := e.Error(); !seen[s] {
				seen[s] = true
				flat = append(flat, e)
			}
		}
	}
	slices.SortStableFunc(flat, func(a, b error) int { return sortLine(a) - sortLine(b) })
	return errors.Join(flat...)
}

// LineOf is the line an error names, 0 when none.
func LineOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Line
	}
	return 0
}

func sortLine(err error) int {
	if l := LineOf(err); l > 0 {
		return l
	}
	return 1 << 30
}
