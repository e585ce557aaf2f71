// Command panoptes collects, enriches and distributes network telemetry.
// One binary runs every role; see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	_ "github.com/panoptes-go/panoptes/internal/plugins/all" // every built-in plugin
	"github.com/panoptes-go/panoptes/internal/version"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"run":      {"run every role in one process: discovery, polling, the bus and the sinks", runCmd},
	"poll":     {"poll one device once and print its metrics as JSON", pollCmd},
	"sim":      {"serve simulated SNMP devices for demos, tests and benchmarks", simCmd},
	"validate": {"check a config file and exit non-zero on any error", validateCmd},
	"version":  {"print the version", versionCmd},
	"status":   {"show the cluster's members, their sites and roles, what each owns, and each site's leader", statusCmd},
	"demo":     {"run a simulated site end to end in one process, nothing else needed", demoCmd},
	"bench":    {"measure the pipeline against simulated devices and print one JSON object", benchCmd},
	"reload":   {"ask a running node to reload its config (as SIGHUP does)", reloadCmd},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks an error whose message is already printed with the usage.
var errUsage = errors.New("usage")

// Main runs the command line and returns the exit code: 0 ok, 1 failure, 2 usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "panoptes: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "panoptes %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "panoptes %s: collect, enrich and distribute network telemetry\n\nUsage: panoptes <command> [flags]\n\nCommands:\n", version.Get().Version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'panoptes <command> --help' for a command's flags; 'panoptes --version' prints the version.\n")
}

// newFlags makes a command's flag set whose --help prints what it does.
func newFlags(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: panoptes %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into errUsage (already printed).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", "Print the version, the commit and date it was built from, and the Go toolchain that built it\n"+
		"(also 'panoptes --version'). Nodes show the same version in 'panoptes status' and in the\n"+
		"panoptes_build_info self-metric.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, version.Get())
	return nil
}
