package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/gocann/gocann/internal/version"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of GoCANN and of the Go toolchain that built it",
		usage:   "cann version [--format text|json]",
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			format := fs.String("format", "text", "output `format`: text or json")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unexpected arguments %q: %w", args, errUsage)
				}
				info := version.Get()
				switch *format {
				case "text":
					_, err := fmt.Fprintln(ios.stdout, info)
					return err
				case "json":
					enc := json.NewEncoder(ios.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(info)
				}
				return fmt.Errorf("unknown format %q (want text or json): %w", *format, errUsage)
			}
		},
	}
}
