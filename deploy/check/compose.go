package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv stands in for the variables the compose file requires from
// the operator's shell (${VAR:?...}).
var composeEnv = map[string]string{"PANOPTES_LEAF_PASSWORD": "check-only"}

// checkCompose loads file as `docker compose config` does: the Compose
// specification's JSON schema, interpolation and the consistency checks
// (services named by depends_on and network_mode exist); then that every
// build context and bind-mounted file is there.
func checkCompose(ctx context.Context, file string) ([]string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	project, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: composeEnv,
	}, func(o *loader.Options) { o.ResolvePaths = true })
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}, nil
	}
	var problems []string
	for name, svc := range project.Services {
		if b := svc.Build; b != nil {
			df := b.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if !filepath.IsAbs(df) {
				df = filepath.Join(b.Context, df)
			}
			if _, err := os.Stat(df); err != nil {
				problems = append(problems, fmt.Sprintf("%s: service %s: build: %v", file, name, err))
			}
		}
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				problems = append(problems, fmt.Sprintf("%s: service %s: bind mount %s: %v", file, name, v.Source, err))
			}
		}
		if svc.User != "" && strings.HasPrefix(svc.User, "0") {
			problems = append(problems, fmt.Sprintf("%s: service %s runs as root", file, name))
		}
	}
	return problems, nil
}
