// Command cann is GoCANN's command-line tool: it lists devices and, as the
// stack grows, runs, converts, benchmarks and profiles models and launches
// distributed jobs.
//
// Each subcommand lives in its own file (cmd_NAME.go) and is listed in the
// commands table below; that table is all there is to the dispatch.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
)

// command is one subcommand of cann.
type command struct {
	name    string
	summary string // one line for the command list
	usage   string // "cann NAME [flags] ARGS", then a paragraph
	// setup declares the command's flags and returns the function that runs
	// it once the flags are parsed.
	setup func(fs *flag.FlagSet) func(ctx context.Context, io ioStreams, args []string) error
}

// ioStreams carries the command's output, so tests can capture it.
type ioStreams struct {
	stdout, stderr io.Writer
}

// errUsage marks mistakes in how the command was called (exit status 2).
var errUsage = errors.New("usage")

func commands() []*command {
	return []*command{
		runCommand(),
		benchCommand(),
		devicesCommand(),
		versionCommand(),
		launchCommand(),
		commCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], ioStreams{os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

// run executes cann with args and returns the exit status: 0 on success, 1
// when the command failed, 2 when it was called wrongly.
func run(ctx context.Context, args []string, ios ioStreams) int {
	if len(args) == 0 {
		printTopUsage(ios.stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, ios)
		}
		printTopUsage(ios.stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(ios.stderr, "cann: unknown command %q\n\n", name)
		printTopUsage(ios.stderr)
		return 2
	}
	fs := flag.NewFlagSet("cann "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(ios.stderr)
	runFn := cmd.setup(fs)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n", strings.TrimSpace(cmd.usage))
		if hasFlags(fs) {
			fmt.Fprintln(out, "Flags:")
			fs.PrintDefaults()
		}
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(ios.stdout)
			fs.Usage()
			return 0
		}
		return 2 // the flag package already printed the error and usage
	}
	if err := runFn(ctx, ios, positional); err != nil {
		fmt.Fprintf(ios.stderr, "cann %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// parseInterspersed parses flags anywhere among the arguments ("cann run
// MODEL --threads 2"), as users expect; everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// fs.Parse stops at the first non-flag, or consumes a "--".
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func printTopUsage(w io.Writer) {
	fmt.Fprintln(w, "cann: GoCANN, a compute architecture for neural networks in Go.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: cann COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "cann COMMAND --help" for a command's flags.`)
}
