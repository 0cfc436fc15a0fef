package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gocann/gocann/compiled"
)

func inspectCommand() *command {
	return &command{
		name:    "inspect",
		summary: "describe a compiled model (.cann): manifest, inputs, outputs, operators",
		usage: `cann inspect FILE [--format text|json] [--verify]

Prints what a compiled model file holds: the tool that wrote it, the source
model and its hash, opsets, optimization level, target device and CPU
features (and whether this machine can run it), inputs, outputs, operator
counts and weight bytes. --verify also checks the weights against their
checksum (reading every page of them).`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			format := fs.String("format", "text", "output `format`: text or json")
			verify := fs.Bool("verify", false, "check the weights against their checksum")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("want one FILE, got %d arguments: %w", len(args), errUsage)
				}
				if *format != "text" && *format != "json" {
					return fmt.Errorf("unknown format %q (want text or json): %w", *format, errUsage)
				}
				path := args[0]
				m, err := compiled.Open(path, compiled.WithoutCompatCheck(), compiled.WithVerifyWeights(*verify))
				if errors.Is(err, compiled.ErrNotCompiled) {
					return fmt.Errorf("%s is not a compiled model (an ONNX file? compile it with cann convert)", path)
				}
				if err != nil {
					return err
				}
				defer m.Close()
				st, err := os.Stat(path)
				if err != nil {
					return err
				}
				r := inspectReport{File: path, Bytes: st.Size(), Compatible: true, WeightsVerified: *verify, Manifest: m.Manifest}
				if err := compiled.Compatible(m.Manifest); err != nil {
					r.Compatible, r.Incompatible = false, strings.TrimSuffix(err.Error(), ": "+compiled.ErrIncompatible.Error())
				}
				if *format == "json" {
					enc := json.NewEncoder(ios.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(r)
				}
				r.printText(ios)
				return nil
			}
		},
	}
}

type inspectReport struct {
	File            string             `json:"file"`
	Bytes           int64              `json:"bytes"`
	Compatible      bool               `json:"compatible"`
	Incompatible    string             `json:"incompatible,omitempty"`
	WeightsVerified bool               `json:"weights_verified"`
	Manifest        *compiled.Manifest `json:"manifest"`
}

func (r *inspectReport) printText(ios ioStreams) {
	m := r.Manifest
	w := tabwriter.NewWriter(ios.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%s:\tGoCANN compiled model, format %d, %s\n", r.File, m.FormatVersion, mb(r.Bytes))
	tool := m.Tool.Name + " " + m.Tool.Version
	if m.Tool.Go != "" {
		tool += " (" + m.Tool.Go
		if m.Tool.Commit != "" {
			tool += ", commit " + m.Tool.Commit[:min(12, len(m.Tool.Commit))]
		}
		tool += ")"
	}
	fmt.Fprintf(w, "created\t%s by %s\n", m.Created.Format("2006-01-02 15:04:05 MST"), tool)
	src := m.Source.File
	if src == "" {
		src = "(unknown)"
	}
	if m.Source.Bytes > 0 {
		src += fmt.Sprintf(", %s", mb(m.Source.Bytes))
	}
	if m.Source.SHA256 != "" {
		src += ", sha256 " + m.Source.SHA256
	}
	fmt.Fprintf(w, "source\t%s\n", src)
	if m.Source.Producer != "" {
		fmt.Fprintf(w, "producer\t%s\n", m.Source.Producer)
	}
	domains := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	var opsets []string
	for _, d := range domains {
		name := d
		if name == "" {
			name = "ai.onnx"
		}
		opsets = append(opsets, fmt.Sprintf("%s %d", name, m.Opsets[d]))
	}
	fmt.Fprintf(w, "opsets\t%s\n", strings.Join(opsets, ", "))
	fmt.Fprintf(w, "opt level\t%d\n", m.OptLevel)
	if len(m.Shapes) > 0 {
		names := make([]string, 0, len(m.Shapes))
		for n := range m.Shapes {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			dims := make([]string, len(m.Shapes[n]))
			for i, d := range m.Shapes[n] {
				dims[i] = fmt.Sprint(d)
			}
			parts = append(parts, n+" "+strings.Join(dims, "x"))
		}
		fmt.Fprintf(w, "shapes\t%s\n", strings.Join(parts, ", "))
	}
	compat := "runs on this machine"
	if !r.Compatible {
		compat = "NOT for this machine: " + r.Incompatible
	}
	fmt.Fprintf(w, "target\t%s %s %s: %s\n", m.Target.Device, m.Target.Arch, featureList(m.Target.CPUFeatures), compat)
	check := "checksum not verified (--verify)"
	if r.WeightsVerified {
		check = "checksum verified"
	}
	fmt.Fprintf(w, "weights\t%s in %d tensors, %d small tensors inline (%d bytes); %s\n",
		mb(m.Weights.Bytes), m.Weights.Tensors, m.Weights.Inline, m.Weights.InlineBytes, check)
	w.Flush()

	for _, sec := range []struct {
		title string
		vals  []compiled.Value
	}{{"inputs", m.Inputs}, {"outputs", m.Outputs}} {
		fmt.Fprintf(ios.stdout, "\n%s:\n", sec.title)
		for _, v := range sec.vals {
			line := "  " + v.Name + "\t" + v.Type
			if len(v.DimParams) > 0 {
				line += "\t(" + strings.Join(nonEmpty(v.DimParams), ", ") + ")"
			}
			fmt.Fprintln(w, line)
		}
		w.Flush()
	}

	fmt.Fprintf(ios.stdout, "\noperators (%d nodes):\n", m.Nodes)
	ops := make([]string, 0, len(m.OpCounts))
	for op := range m.OpCounts {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if m.OpCounts[ops[i]] != m.OpCounts[ops[j]] {
			return m.OpCounts[ops[i]] > m.OpCounts[ops[j]]
		}
		return ops[i] < ops[j]
	})
	for _, op := range ops {
		fmt.Fprintf(w, "  %s\t%d\n", op, m.OpCounts[op])
	}
	w.Flush()
}

func nonEmpty(s []string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// isCompiledFile reports whether path starts with the compiled model magic.
func isCompiledFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(compiled.Magic))
	n, _ := io.ReadFull(f, b)
	return compiled.IsCompiled(b[:n])
}
