package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/backends"
)

func devicesCommand() *command {
	return &command{
		name:    "devices",
		summary: "list every device of every backend with its properties",
		usage: `cann devices [--threads N] [--format text|json]

Lists the devices GoCANN can run on. A backend that cannot start (its
library or hardware is missing) is reported on stderr and does not hide the
others.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			threads := fs.Int("threads", 0, "CPU worker threads (0: one per core)")
			format := fs.String("format", "text", "output `format`: text or json")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unexpected arguments %q: %w", args, errUsage)
				}
				if *format != "text" && *format != "json" {
					return fmt.Errorf("unknown format %q (want text or json): %w", *format, errUsage)
				}
				reg, err := backends.Registry(backends.Options{Threads: *threads})
				if err != nil {
					return err
				}
				defer reg.Close()
				devs, listErr := reg.Devices()
				if listErr != nil {
					// Partial failure: show what was found, say what was not.
					fmt.Fprintf(ios.stderr, "cann devices: %v\n", listErr)
				}
				// An optional backend that found nothing to run on (OpenCL
				// without its library) says why, without failing.
				for _, b := range reg.Backends() {
					if u, ok := b.(interface{ Err() error }); ok && u.Err() != nil {
						fmt.Fprintf(ios.stderr, "cann devices: %s: no devices: %v\n", b.Name(), u.Err())
					}
				}
				if len(devs) == 0 {
					return fmt.Errorf("no devices found")
				}
				props := make([]runtime.Properties, len(devs))
				for i, d := range devs {
					props[i] = d.Properties()
				}
				if *format == "json" {
					return writeDevicesJSON(ios, props)
				}
				return writeDevicesText(ios, props)
			}
		},
	}
}

// deviceJSON is the stable JSON form of a device's properties.
type deviceJSON struct {
	ID           string   `json:"id"`
	Backend      string   `json:"backend"`
	Index        int      `json:"index"`
	Name         string   `json:"name"`
	Vendor       string   `json:"vendor,omitempty"`
	Driver       string   `json:"driver,omitempty"`
	Kind         string   `json:"kind"`
	ComputeUnits int      `json:"compute_units"`
	Threads      int      `json:"threads,omitempty"`
	MemoryBytes  int64    `json:"memory_bytes"`
	L1DBytes     int64    `json:"l1d_cache_bytes,omitempty"`
	L2Bytes      int64    `json:"l2_cache_bytes,omitempty"`
	L3Bytes      int64    `json:"l3_cache_bytes,omitempty"`
	Features     []string `json:"features"`
}

func writeDevicesJSON(ios ioStreams, props []runtime.Properties) error {
	out := make([]deviceJSON, len(props))
	for i, p := range props {
		out[i] = deviceJSON{
			ID: p.ID(), Backend: p.Backend, Index: p.Index, Name: p.Name, Vendor: p.Vendor,
			Driver: p.Driver, Kind: p.Kind.String(), ComputeUnits: p.ComputeUnits, Threads: p.Threads,
			MemoryBytes: p.Memory, L1DBytes: p.L1DCache, L2Bytes: p.L2Cache, L3Bytes: p.L3Cache,
			Features: append([]string{}, p.Features...),
		}
	}
	enc := json.NewEncoder(ios.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeDevicesText(ios ioStreams, props []runtime.Properties) error {
	tw := tabwriter.NewWriter(ios.stdout, 0, 0, 1, ' ', 0)
	for i, p := range props {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t%s\n", p.ID(), p.Name)
		row := func(k, v string) {
			if v != "" {
				fmt.Fprintf(tw, "  %s:\t%s\n", k, v)
			}
		}
		row("kind", p.Kind.String())
		row("vendor", p.Vendor)
		row("driver", p.Driver)
		row("compute units", fmt.Sprint(p.ComputeUnits))
		if p.Threads > 0 {
			row("threads", fmt.Sprint(p.Threads))
		}
		row("memory", formatBytes(p.Memory))
		var caches []string
		for _, c := range []struct {
			name string
			n    int64
		}{{"L1d", p.L1DCache}, {"L2", p.L2Cache}, {"L3", p.L3Cache}} {
			if c.n > 0 {
				caches = append(caches, c.name+" "+formatBytes(c.n))
			}
		}
		row("caches", strings.Join(caches, ", "))
		feats := strings.Join(p.Features, " ")
		if feats == "" {
			feats = "(none detected)"
		}
		row("features", feats)
	}
	return tw.Flush()
}

// formatBytes prints a byte count in binary units; "" for unknown (0).
func formatBytes(n int64) string {
	if n <= 0 {
		return ""
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}
