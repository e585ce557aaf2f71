package main

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// checkDockerfile parses file as BuildKit does (syntax, flags, its lint
// rules as errors) and checks what only a build would show: that every
// context path it copies or names exists in contextDir and is not excluded
// by .dockerignore, that COPY --from names an earlier stage, that the Go
// version matches go.mod, and that the image runs as a non-root user with a
// volume for its state.
func checkDockerfile(file, contextDir string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, file+": "+fmt.Sprintf(format, args...)) }
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}, nil
	}
	for _, w := range res.Warnings {
		add("line %d: %s", w.Location.Start.Line, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		add("line %d: %s: %s", line, rule, msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return append(problems, fmt.Sprintf("%s: %v", file, err)), nil
	}
	if len(stages) == 0 {
		add("no FROM")
		return problems, nil
	}

	ignored, err := dockerignore(contextDir)
	if err != nil {
		return nil, err
	}
	inContext := func(line int, p string) {
		p = path.Clean(strings.TrimPrefix(p, "./"))
		matches, err := filepath.Glob(filepath.Join(contextDir, p))
		if err != nil {
			add("line %d: %s: %v", line, p, err)
			return
		}
		if len(matches) == 0 {
			add("line %d: %s is not in the build context %s", line, p, contextDir)
			return
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(contextDir, m)
			if rel == "." {
				continue
			}
			if ok, _ := ignored.MatchesOrParentMatches(filepath.ToSlash(rel)); ok {
				add("line %d: %s is excluded from the build context by .dockerignore", line, rel)
			}
		}
	}

	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Key == "GO_VERSION" {
				problems = append(problems, checkGoVersion(file, kv.Value, contextDir)...)
			}
		}
	}
	names := map[string]bool{}
	for i, st := range stages {
		for _, cmd := range st.Commands {
			line := 0
			if loc := cmd.Location(); len(loc) > 0 {
				line = loc[0].Start.Line
			}
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					if !names[strings.ToLower(c.From)] {
						add("line %d: COPY --from=%s names no earlier stage", line, c.From)
					}
					continue
				}
				for _, src := range c.SourcePaths {
					inContext(line, src)
				}
			case *instructions.AddCommand:
				for _, src := range c.SourcePaths {
					if !strings.Contains(src, "://") {
						inContext(line, src)
					}
				}
			case *instructions.RunCommand:
				for _, p := range contextPaths(strings.Join(c.CmdLine, " "), contextDir) {
					inContext(line, p)
				}
			}
		}
		if st.Name != "" {
			if names[st.Name] {
				add("stage %q is defined twice", st.Name)
			}
			names[st.Name] = true
		}
		if i == len(stages)-1 {
			problems = append(problems, checkFinalStage(file, st)...)
		}
	}
	return problems, nil
}

func dockerignore(contextDir string) (*patternmatcher.PatternMatcher, error) {
	var patterns []string
	f, err := os.Open(filepath.Join(contextDir, ".dockerignore"))
	switch {
	case err == nil:
		defer f.Close()
		if patterns, err = ignorefile.ReadAll(f); err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	return patternmatcher.New(patterns)
}

// relPath is a word of a shell command that looks like a path into the
// build context: relative, with a directory, no variables.
var relPath = regexp.MustCompile(`^(\./)?[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_.*/-]*$`)

// contextPaths returns the words of a RUN command that name files of the
// build context (their first directory exists in it): a renamed file that
// the build would only miss at `docker build` time.
func contextPaths(cmdline, contextDir string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(cmdline, func(r rune) bool { return strings.ContainsRune(" \t\n;&|()'\"", r) }) {
		if !relPath.MatchString(w) {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(w, "./"), "/")
		if fi, err := os.Stat(filepath.Join(contextDir, first)); err == nil && fi.IsDir() {
			out = append(out, w)
		}
	}
	return out
}

var goDirective = regexp.MustCompile(`(?m)^go (\S+)$`)

func checkGoVersion(file string, value *string, contextDir string) []string {
	mod, err := os.ReadFile(filepath.Join(contextDir, "go.mod"))
	if err != nil {
		return []string{fmt.Sprintf("%s: ARG GO_VERSION: %v", file, err)}
	}
	m := goDirective.FindSubmatch(mod)
	if m == nil || value == nil || *value != string(m[1]) {
		v := "<none>"
		if value != nil {
			v = *value
		}
		return []string{fmt.Sprintf("%s: ARG GO_VERSION=%s, but go.mod says go %s", file, v, m[1])}
	}
	return nil
}

// checkFinalStage: the image runs as a numeric non-root user (Kubernetes'
// runAsNonRoot can only verify a number), declares a volume for its state
// and has an entrypoint.
func checkFinalStage(file string, st instructions.Stage) []string {
	var user string
	var volumes []string
	entrypoint := false
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.VolumeCommand:
			volumes = append(volumes, c.Volumes...)
		case *instructions.EntrypointCommand:
			entrypoint = true
		}
	}
	var problems []string
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
		problems = append(problems, fmt.Sprintf("%s: the final stage must set USER to a numeric non-root uid (has %q)", file, user))
	}
	if len(volumes) == 0 {
		problems = append(problems, file+": the final stage declares no VOLUME for the state")
	}
	if !entrypoint {
		problems = append(problems, file+": the final stage has no ENTRYPOINT")
	}
	return problems
}
