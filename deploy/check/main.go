// Command check verifies the deployment examples where no container engine
// or cluster is at hand (CI): the Kubernetes manifests against the API's own
// Go types, the Dockerfile with BuildKit's parser and against the build
// context, and the compose file against the Compose specification's schema.
// It is a module of its own so the main module does not carry these
// dependencies.
//
//	check kubernetes [-extract DIR] FILE   strict decode into k8s.io/api types, then
//	                                       the references between the objects;
//	                                       -extract writes each ConfigMap key to
//	                                       DIR/<configmap>/<key> (to run panoptes
//	                                       validate on the config it holds)
//	check dockerfile FILE CONTEXT          BuildKit's parser and lint rules, then every
//	                                       path it takes from CONTEXT exists and is not
//	                                       excluded by CONTEXT/.dockerignore
//	check compose FILE                     the Compose schema and references
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: check kubernetes|dockerfile|compose ...")
	}
	var problems []string
	var err error
	switch args[0] {
	case "kubernetes":
		fs := flag.NewFlagSet("kubernetes", flag.ContinueOnError)
		extract := fs.String("extract", "", "write each ConfigMap key to DIR/<configmap>/<key>")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: check kubernetes [-extract DIR] FILE")
		}
		problems, err = checkKubernetesFile(fs.Arg(0), *extract)
	case "dockerfile":
		if len(args) != 3 {
			return fmt.Errorf("usage: check dockerfile FILE CONTEXT")
		}
		problems, err = checkDockerfile(args[1], args[2])
	case "compose":
		if len(args) != 2 {
			return fmt.Errorf("usage: check compose FILE")
		}
		problems, err = checkCompose(ctx, args[1])
	default:
		return fmt.Errorf("unknown check %q: kubernetes, dockerfile or compose", args[0])
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Printf("check %s: ok\n", strings.Join(args, " "))
	return nil
}
