package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/gocann/gocann/engine"
	"github.com/gocann/gocann/model"
)

func profileCommand() *command {
	return &command{
		name:    "profile",
		summary: "time every kernel launch of a model: per-operator summary and a Chrome/Perfetto trace",
		usage: `cann profile MODEL [-o trace.json] [--iterations N] [--warmup N] [--threads N] [--device cpu|opencl[:N]] [--strict] [--shapes NAME:1x3x224x224,...] [--format text|json]

Runs MODEL on random inputs (as cann bench makes them; symbolic dimensions
1 unless --shapes sets them) --warmup times unrecorded, then
--iterations times with the profiler on, and prints per operator type the
number of launches, total and mean time and share of the time. With -o it
writes the launches as a Chrome trace (JSON; open it in ui.perfetto.dev or
chrome://tracing): one event per kernel launch with the node, operator
type, operand shapes, device and stream.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			out := fs.String("o", "", "write the trace to `FILE`")
			iterations := fs.Int("iterations", 10, "profiled runs")
			warmup := fs.Int("warmup", 2, "runs before profiling")
			threads := fs.Int("threads", 0, "CPU worker threads (0: one per core)")
			device := fs.String("device", "cpu", "device to run on (cpu, opencl, opencl:N)")
			strict := fs.Bool("strict", false, "fail when a node would fall back from the device to the CPU")
			var shapes inputShapes
			fs.Var(&shapes, "shapes", "input shapes as `NAME:DIMS,...` (e.g. x:1x3x224x224); sets symbolic dims")
			format := fs.String("format", "text", "output `format`: text or json")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("want one MODEL, got %d arguments: %w", len(args), errUsage)
				}
				if *iterations < 1 || *warmup < 0 {
					return fmt.Errorf("--iterations must be at least 1 and --warmup at least 0: %w", errUsage)
				}
				if *format != "text" && *format != "json" {
					return fmt.Errorf("--format %q: want text or json: %w", *format, errUsage)
				}
				return profileModel(ctx, ios, args[0], profileOptions{
					trace: *out, iterations: *iterations, warmup: *warmup, shapes: shapes, json: *format == "json",
					opts: []model.Option{model.WithDevice(*device), model.WithThreads(*threads), model.WithStrict(*strict)},
				})
			}
		},
	}
}

type profileOptions struct {
	trace              string
	iterations, warmup int
	shapes             inputShapes
	json               bool
	opts               []model.Option
}

// profileReport is what --format json prints.
type profileReport struct {
	Model      string        `json:"model"`
	Device     string        `json:"device"`
	Iterations int           `json:"iterations"`
	Launches   int           `json:"launches_per_run"`
	MedianMs   float64       `json:"median_ms"`
	RunsMs     []float64     `json:"runs_ms"`
	Ops        []profileOpJS `json:"ops"`
	Trace      string        `json:"trace,omitempty"`
}

type profileOpJS struct {
	OpType  string  `json:"op_type"`
	Count   int     `json:"count"`
	TotalMs float64 `json:"total_ms"`
	MeanMs  float64 `json:"mean_ms"`
	Share   float64 `json:"share"`
}

func profileModel(ctx context.Context, ios ioStreams, path string, o profileOptions) error {
	m, err := loadModel(path, o.opts)
	if err != nil {
		return err
	}
	defer m.Close()
	indices, err := gatherIndices(path, m.Inputs())
	if err != nil {
		return err
	}
	feeds, err := randomInputs(m.Inputs(), o.shapes, indices, rand.New(rand.NewPCG(1, 0x9e3779b97f4a7c15)))
	if err != nil {
		return err
	}
	for i := 0; i < o.warmup; i++ {
		if _, err := m.RunValues(ctx, feeds); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	p := engine.NewProfiler()
	pctx := engine.WithProfiler(ctx, p)
	for i := 0; i < o.iterations; i++ {
		if _, err := m.RunValues(pctx, feeds); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	plan, err := m.MemoryPlan(feeds)
	if err != nil {
		return err
	}
	rep := profileReport{Model: path, Device: m.Device().Properties().ID(), Iterations: o.iterations, Launches: plan.Launches}
	var runs []time.Duration
	for _, ev := range p.Events() {
		if ev.Kind == "run" {
			runs = append(runs, ev.Duration)
			rep.RunsMs = append(rep.RunsMs, ms(ev.Duration))
		}
	}
	slices.Sort(runs)
	rep.MedianMs = ms(runs[len(runs)/2])
	sum := p.Summary()
	for _, s := range sum {
		rep.Ops = append(rep.Ops, profileOpJS{OpType: s.OpType, Count: s.Count, TotalMs: ms(s.Total), MeanMs: ms(s.Mean), Share: s.Share})
	}
	if o.trace != "" {
		f, err := os.Create(o.trace)
		if err != nil {
			return err
		}
		if err := p.WriteTrace(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		rep.Trace = o.trace
	}
	if o.json {
		enc := json.NewEncoder(ios.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := ios.stdout
	fmt.Fprintf(w, "%s: %d profiled runs on %s, %d launches per run, median %s (min %s)\n\n",
		filepath.Base(path), o.iterations, rep.Device, plan.Launches, round(runs[len(runs)/2]), round(runs[0]))
	width := len("op type")
	for _, s := range sum {
		width = max(width, len(s.OpType))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tlaunches\ttotal\tmean\tshare\t\n", width, "op type")
	for _, s := range sum {
		fmt.Fprintf(tw, "%-*s\t%d\t%s\t%s\t%.1f%%\t\n", width, s.OpType, s.Count, round(s.Total), round(s.Mean), 100*s.Share)
	}
	tw.Flush()
	if o.trace != "" {
		fmt.Fprintf(w, "\nwrote %s (open in ui.perfetto.dev or chrome://tracing)\n", o.trace)
	}
	return nil
}
