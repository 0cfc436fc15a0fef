package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

func benchCommand() *command {
	return &command{
		name:    "bench",
		summary: "measure a model's load time, latency percentiles and throughput",
		usage: `cann bench MODEL [--device cpu|opencl[:N]] [--strict] [--threads N] [--opt-level N] [--warmup N] [--iterations N] [--duration D] [--shapes NAME:DIMS,...] [--input-dir DIR] [--format text|json]

Loads MODEL (an .onnx file or a .cann one from cann convert), runs it
--warmup times untimed, then times runs one after another: --iterations
of them, or as many as fit in --duration (default 2s when neither is
given; with both, whichever ends first). Prints the load time, the median (p50), p90 and p99 latency and
the throughput (runs per second); --format json prints the same as one
object with keys model, device, threads, warmup, iterations, load_ms,
p50_ms, p90_ms, p99_ms, mean_ms, min_ms, max_ms, throughput and cpu_ms
(CPU time per run, all threads: steadier than latency on a shared machine).

Inputs are random unless --input-dir gives input_K.pb files (as cann run
reads them): floats uniform in [-1, 1), integer indices (token ids,
positions, Gather indices) 0 or 1, masks all ones, other integers in
[0, 4). Symbolic dimensions are 1 unless --shapes sets the input's shape,
as in --shapes input_ids:1x128,pixel_values:4x3x224x224. --cpuprofile writes
a Go CPU profile of the timed runs (go tool pprof).`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			device := fs.String("device", "cpu", "device to run on (cpu, opencl, opencl:N)")
			strict := fs.Bool("strict", false, "fail when a node would fall back from the device to the CPU")
			threads := fs.Int("threads", 0, "CPU worker threads (0: one per core)")
			optLevel := fs.Int("opt-level", model.DefaultOptLevel, "graph optimization level `N` (0 none … 3 all; 1 by default off the CPU; ignored for compiled models)")
			warmup := fs.Int("warmup", 5, "untimed runs before timing")
			iterations := fs.Int("iterations", 0, "timed runs (0: as many as fit in --duration)")
			duration := fs.Duration("duration", 0, "time budget for the timed runs (0: 2s unless --iterations is set)")
			var shapes inputShapes
			fs.Var(&shapes, "shapes", "input shapes as `NAME:DIMS,...` (e.g. x:1x3x224x224); sets symbolic dims")
			inputDir := fs.String("input-dir", "", "read input_K.pb files from `DIR` instead of random inputs")
			format := fs.String("format", "text", "output `format`: text or json")
			seed := fs.Uint64("seed", 1, "seed of the random inputs")
			cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the timed runs to `FILE` (go tool pprof)")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("want one MODEL, got %d arguments: %w", len(args), errUsage)
				}
				if *format != "text" && *format != "json" {
					return fmt.Errorf("unknown format %q (want text or json): %w", *format, errUsage)
				}
				if *warmup < 0 || *iterations < 0 || *duration < 0 {
					return fmt.Errorf("--warmup, --iterations and --duration must not be negative: %w", errUsage)
				}
				if *threads < 0 {
					return fmt.Errorf("--threads %d: must not be negative: %w", *threads, errUsage)
				}
				switch {
				case !flagSet(fs, "opt-level"):
					*optLevel = -1 // the device's default
				case *optLevel < 0:
					return fmt.Errorf("--opt-level %d: want 0 to 3: %w", *optLevel, errUsage)
				}
				cfg := benchConfig{
					path: args[0], device: *device, strict: *strict, threads: *threads, optLevel: *optLevel, warmup: *warmup,
					iterations: *iterations, duration: *duration, shapes: shapes,
					inputDir: *inputDir, seed: *seed, cpuProfile: *cpuProfile,
				}
				res, err := runBench(ctx, cfg)
				if err != nil {
					return err
				}
				if *format == "json" {
					enc := json.NewEncoder(ios.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				res.writeText(ios)
				return nil
			}
		},
	}
}

// benchConfig is a parsed cann bench command line.
type benchConfig struct {
	path, device    string
	strict          bool
	threads, warmup int
	optLevel        int // -1: the device's default
	iterations      int
	duration        time.Duration
	shapes          inputShapes
	inputDir        string
	seed            uint64
	cpuProfile      string // pprof output of the timed runs, or ""
}

// benchResult is what cann bench reports; the JSON keys are part of the
// command's interface (scripts/bench-cpu reads them).
type benchResult struct {
	Model   string `json:"model"`
	Device  string `json:"device"`
	Threads int    `json:"threads"`
	Inputs  string `json:"inputs"` // "random" or the --input-dir
	// InputShapes describes each input fed, as "float32[1 3 224 224]".
	InputShapes map[string]string `json:"input_shapes"`
	Warmup      int               `json:"warmup"`
	Iterations  int               `json:"iterations"`
	LoadMS      float64           `json:"load_ms"`
	P50MS       float64           `json:"p50_ms"`
	P90MS       float64           `json:"p90_ms"`
	P99MS       float64           `json:"p99_ms"`
	MeanMS      float64           `json:"mean_ms"`
	MinMS       float64           `json:"min_ms"`
	MaxMS       float64           `json:"max_ms"`
	Throughput  float64           `json:"throughput"` // runs per second, one after another
	// CPUMS is the CPU time (user and system, all threads) per timed run:
	// steadier than latency on a machine shared with other work. Absent
	// where the system does not report it.
	CPUMS float64 `json:"cpu_ms,omitempty"`
}

func runBench(ctx context.Context, cfg benchConfig) (*benchResult, error) {
	iterations, duration := cfg.iterations, cfg.duration
	if iterations == 0 && duration == 0 {
		duration = 2 * time.Second
	}
	opts := []model.Option{model.WithDevice(cfg.device), model.WithThreads(cfg.threads), model.WithStrict(cfg.strict)}
	if cfg.optLevel >= 0 {
		opts = append(opts, model.WithOptLevel(cfg.optLevel))
	}
	start := time.Now()
	m, err := loadModel(cfg.path, opts)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	load := time.Since(start)

	res := &benchResult{
		Model:   cfg.path,
		Device:  m.Device().Properties().ID(),
		Threads: cfg.threads,
		Inputs:  "random",
		Warmup:  cfg.warmup,
		LoadMS:  ms(load),
	}
	if d, ok := m.Device().(*cpu.Device); ok {
		res.Threads = d.Backend().Workers().Threads()
	}
	var feeds map[string]ops.Value
	if cfg.inputDir != "" {
		res.Inputs = cfg.inputDir
		if feeds, err = readInputs(m, nil, cfg.inputDir); err != nil {
			return nil, err
		}
	} else {
		indices, err := gatherIndices(cfg.path, m.Inputs())
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(cfg.seed, 0x9e3779b97f4a7c15))
		if feeds, err = randomInputs(m.Inputs(), cfg.shapes, indices, rng); err != nil {
			return nil, err
		}
	}
	res.InputShapes = map[string]string{}
	for name, v := range feeds {
		if t, ok := v.(*tensor.Tensor); ok {
			res.InputShapes[name] = fmt.Sprintf("%s%v", t.DType(), t.Shape())
		} else {
			res.InputShapes[name] = fmt.Sprintf("%T", v)
		}
	}
	for i := 0; i < cfg.warmup; i++ {
		if _, err := m.RunValues(ctx, feeds); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.path, err)
		}
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	var lat []time.Duration
	cpu0, cpuOK := processCPU()
	begin := time.Now()
	for {
		if iterations > 0 && len(lat) >= iterations {
			break
		}
		if duration > 0 && len(lat) > 0 && time.Since(begin) >= duration {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := m.RunValues(ctx, feeds); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.path, err)
		}
		lat = append(lat, time.Since(t0))
	}
	res.Iterations = len(lat)
	if cpu1, ok := processCPU(); ok && cpuOK {
		res.CPUMS = ms(cpu1-cpu0) / float64(len(lat))
	}
	var total time.Duration
	for _, d := range lat {
		total += d
	}
	slices.Sort(lat)
	res.P50MS = ms(percentile(lat, 50))
	res.P90MS = ms(percentile(lat, 90))
	res.P99MS = ms(percentile(lat, 99))
	res.MinMS, res.MaxMS = ms(lat[0]), ms(lat[len(lat)-1])
	res.MeanMS = ms(total) / float64(len(lat))
	res.Throughput = float64(len(lat)) / total.Seconds()
	return res, nil
}

// gatherIndices finds the integer inputs a Gather reads as indices, so
// their random values stay in range. It reads the graph only when some
// integer input is not already recognisable by name.
func gatherIndices(path string, ins []model.Info) (map[string]bool, error) {
	need := false
	for _, in := range ins {
		if in.Type.DType.IsInteger() && !indexLike(in.Name) {
			need = true
		}
	}
	if !need {
		return nil, nil
	}
	if isCompiledFile(path) {
		cm, err := compiled.Open(path, compiled.WithoutCompatCheck())
		if err != nil {
			return nil, err
		}
		defer cm.Close()
		return indexInputs(cm.Graph.Graph), nil
	}
	g, err := onnx.LoadModel(path)
	if err != nil {
		return nil, err
	}
	return indexInputs(g.Graph), nil
}

// percentile returns the p-th percentile of sorted durations, interpolating
// linearly between the closest ranks (numpy's default).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 1 {
		return sorted[0]
	}
	x := p / 100 * float64(len(sorted)-1)
	i := int(math.Floor(x))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := x - float64(i)
	return sorted[i] + time.Duration(f*float64(sorted[i+1]-sorted[i]))
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func (r *benchResult) writeText(ios ioStreams) {
	w := ios.stdout
	fmt.Fprintf(w, "%s on %s, %d thread(s), %s inputs\n", r.Model, r.Device, r.Threads, r.Inputs)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range r.InputShapes {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, n := range names {
		parts = append(parts, n+" "+r.InputShapes[n])
	}
	fmt.Fprintf(w, "  inputs      %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "  load        %10.2f ms\n", r.LoadMS)
	fmt.Fprintf(w, "  runs        %10d (after %d warm-up)\n", r.Iterations, r.Warmup)
	fmt.Fprintf(w, "  latency p50 %10.3f ms\n", r.P50MS)
	fmt.Fprintf(w, "          p90 %10.3f ms\n", r.P90MS)
	fmt.Fprintf(w, "          p99 %10.3f ms\n", r.P99MS)
	fmt.Fprintf(w, "         mean %10.3f ms (min %.3f, max %.3f)\n", r.MeanMS, r.MinMS, r.MaxMS)
	fmt.Fprintf(w, "  throughput  %10.1f runs/s\n", r.Throughput)
	if r.CPUMS > 0 {
		fmt.Fprintf(w, "  CPU time    %10.3f ms per run (all threads)\n", r.CPUMS)
	}
}
