package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gocann/gocann/internal/sample"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	rt "github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/tensor"
)

// inputFlags collects repeated --input NAME=FILE.pb flags.
type inputFlags []string

func (f *inputFlags) String() string { return strings.Join(*f, ",") }
func (f *inputFlags) Set(v string) error {
	name, file, ok := strings.Cut(v, "=")
	if !ok || name == "" || file == "" {
		return fmt.Errorf("want NAME=FILE.pb, got %q", v)
	}
	*f = append(*f, v)
	return nil
}

func runCommand() *command {
	return &command{
		name:    "run",
		summary: "run an ONNX model on input tensors (no model: the built-in digits sample)",
		usage: `cann run [MODEL] [--input NAME=FILE.pb ...] [--input-dir DIR] [--output-dir DIR] [--device cpu|opencl[:N]] [--strict] [--threads N] [--opt-level N] [--explain]

Runs MODEL (an .onnx file, or a .cann file from cann convert) once.
Inputs are serialized ONNX TensorProto files: --input names one per graph
input; --input-dir reads the ONNX test layout, where input_K.pb feeds the
K-th graph input. Outputs are printed
(name, type, shape, first values) and, with --output-dir, written there as
output_K.pb in graph output order.

The graph is optimized when it loads (--opt-level: 0 none, 1 basic
folding and elimination, 2 fusions, 3 layouts; default 3 on the CPU, 1 on
another device, whose kernels do not cover the fused operators); --explain
prints what each optimization pass did and where the nodes run.

--device opencl (or opencl:N, see cann devices) runs every node the device
has a kernel for there and the rest on the CPU; --explain lists the nodes
per device and each node that fell back to the CPU with the reason, and
--strict makes any fallback an error.

With no MODEL, runs the built-in sample: a small network that reads 8x8
handwritten digits, on its held-out test images, and prints its
predictions and accuracy.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			var inputs inputFlags
			fs.Var(&inputs, "input", "an input as `NAME=FILE.pb` (repeatable)")
			inputDir := fs.String("input-dir", "", "read input_K.pb files from `DIR` (ONNX test layout)")
			outputDir := fs.String("output-dir", "", "write output_K.pb files to `DIR`")
			device := fs.String("device", "cpu", "device to run on (cpu, opencl, opencl:N)")
			strict := fs.Bool("strict", false, "fail when a node cannot run on the device and would fall back to the CPU")
			threads := fs.Int("threads", 0, "CPU worker threads (0: one per core)")
			optLevel := fs.Int("opt-level", model.DefaultOptLevel, "graph optimization level `N` (0 none … 3 all; 1 by default off the CPU)")
			explain := fs.Bool("explain", false, "print what the optimization passes did and where the nodes run")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if *optLevel < 0 {
					return fmt.Errorf("--opt-level %d: want 0 to 3: %w", *optLevel, errUsage)
				}
				opts := []model.Option{model.WithDevice(*device), model.WithThreads(*threads), model.WithStrict(*strict)}
				if flagSet(fs, "opt-level") {
					opts = append(opts, model.WithOptLevel(*optLevel))
				}
				if len(args) == 0 {
					if len(inputs) > 0 || *inputDir != "" || *outputDir != "" {
						return fmt.Errorf("--input, --input-dir and --output-dir need a MODEL: %w", errUsage)
					}
					return runSample(ctx, ios, *explain, opts)
				}
				if len(args) > 1 {
					return fmt.Errorf("one MODEL at a time, got %q: %w", args, errUsage)
				}
				return runModel(ctx, ios, args[0], inputs, *inputDir, *outputDir, *explain, opts)
			}
		},
	}
}

func runModel(ctx context.Context, ios ioStreams, path string, inputs inputFlags, inputDir, outputDir string, explain bool, opts []model.Option) error {
	start := time.Now()
	m, err := loadModel(path, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	loadTime := time.Since(start)
	if explain {
		fmt.Fprint(ios.stdout, m.Report())
	}
	feeds, err := readInputs(m, inputs, inputDir)
	if err != nil {
		return err
	}
	if explain {
		// The plan for these inputs: launches, arena peak, per-run heap.
		plan, err := m.MemoryPlan(feeds)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprint(ios.stdout, plan)
		if err := explainPlacement(ios, m, feeds); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	start = time.Now()
	outs, err := m.RunValues(ctx, feeds)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	runTime := time.Since(start)
	fmt.Fprintf(ios.stdout, "%s: loaded in %s, ran in %s on %s\n", filepath.Base(path), round(loadTime), round(runTime), m.Device().Properties().ID())
	infos := m.Outputs()
	for i, v := range outs {
		fmt.Fprintf(ios.stdout, "  %s: %s\n", infos[i].Name, describeValue(v))
	}
	if outputDir == "" {
		return nil
	}
	if err := os.MkdirAll(outputDir, 0o755); err != nil {
		return err
	}
	for i, v := range outs {
		file := filepath.Join(outputDir, fmt.Sprintf("output_%d.pb", i))
		if err := onnx.WriteValueFile(file, infos[i].Name, v); err != nil {
			return err
		}
	}
	fmt.Fprintf(ios.stdout, "wrote %d output(s) to %s\n", len(outs), outputDir)
	return nil
}

// readInputs gathers --input and --input-dir files into feeds by name.
func readInputs(m *model.Model, inputs inputFlags, inputDir string) (map[string]ops.Value, error) {
	feeds := map[string]ops.Value{}
	ins := m.Inputs()
	if inputDir != "" {
		for k := 0; ; k++ {
			file := filepath.Join(inputDir, fmt.Sprintf("input_%d.pb", k))
			if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
				if k == 0 {
					return nil, fmt.Errorf("--input-dir %s: no input_0.pb", inputDir)
				}
				break
			}
			if k >= len(ins) {
				return nil, fmt.Errorf("--input-dir %s: %s but the model has %d input(s)", inputDir, filepath.Base(file), len(ins))
			}
			// Sequences and optionals are read as the model declares them.
			v, err := onnx.ReadValueFile(file, ins[k].Type)
			if err != nil {
				return nil, err
			}
			feeds[ins[k].Name] = v
		}
	}
	for _, in := range inputs {
		name, file, _ := strings.Cut(in, "=")
		typ := ops.Type{Kind: ops.KindTensor, UnknownRank: true}
		for _, info := range ins {
			if info.Name == name {
				typ = info.Type
			}
		}
		v, err := onnx.ReadValueFile(file, typ)
		if err != nil {
			return nil, err
		}
		feeds[name] = v
	}
	return feeds, nil
}

// describeValue prints a value's type, shape and first elements.
func describeValue(v ops.Value) string {
	switch v := v.(type) {
	case *tensor.Tensor:
		return v.String()
	case *ops.Sequence:
		parts := make([]string, len(v.Tensors))
		for i, t := range v.Tensors {
			parts[i] = t.String()
		}
		return fmt.Sprintf("sequence of %d: [%s]", len(v.Tensors), strings.Join(parts, "; "))
	case *ops.Optional:
		if v.Value == nil {
			return "optional: empty"
		}
		return "optional: " + describeValue(v.Value)
	case nil:
		return "none"
	}
	return fmt.Sprintf("%T", v)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// runSample runs the embedded digits model on its held-out test set.
func runSample(ctx context.Context, ios ioStreams, explain bool, opts []model.Option) error {
	m, err := model.LoadBytes(sample.Model(), opts...)
	if err != nil {
		return fmt.Errorf("built-in sample: %w", deviceError(err))
	}
	defer m.Close()
	if explain {
		fmt.Fprint(ios.stdout, m.Report())
	}
	images, labels, err := sample.TestSet()
	if err != nil {
		return err
	}
	if explain {
		plan, err := m.MemoryPlan(map[string]ops.Value{"pixels": images})
		if err != nil {
			return fmt.Errorf("built-in sample: %w", err)
		}
		fmt.Fprint(ios.stdout, plan)
		if err := explainPlacement(ios, m, map[string]ops.Value{"pixels": images}); err != nil {
			return fmt.Errorf("built-in sample: %w", err)
		}
	}
	start := time.Now()
	outs, err := m.Run(ctx, map[string]*tensor.Tensor{"pixels": images})
	if err != nil {
		return fmt.Errorf("built-in sample: %w", err)
	}
	elapsed := time.Since(start)
	pred, err := tensor.ToSlice[int64](outs[0])
	if err != nil {
		return err
	}
	probs, err := tensor.View[float32](outs[1])
	if err != nil {
		return err
	}
	pixels, err := tensor.View[float32](images)
	if err != nil {
		return err
	}
	w := ios.stdout
	fmt.Fprintf(w, "%s\n", sample.Name)
	fmt.Fprintf(w, "device %s, %d test images in one batch, %s\n\n", m.Device().Properties().ID(), len(labels), round(elapsed))
	const shown = 4
	for i := 0; i < shown && i < len(labels); i++ {
		drawDigit(w, pixels[i*64:(i+1)*64])
		fmt.Fprintf(w, "image %d: predicted %d (p=%.3f), label %d\n\n", i, pred[i], probs[i*10+int(pred[i])], labels[i])
	}
	right := 0
	var wrong []string
	for i, y := range labels {
		if pred[i] == y {
			right++
		} else {
			wrong = append(wrong, fmt.Sprintf("#%d: %d as %d", i, y, pred[i]))
		}
	}
	fmt.Fprintf(w, "accuracy: %d / %d correct (%.1f%%)\n", right, len(labels), 100*float64(right)/float64(len(labels)))
	if len(wrong) > 0 {
		fmt.Fprintf(w, "misread: %s\n", strings.Join(wrong, ", "))
	}
	return nil
}

// drawDigit prints an 8x8 image in shades of text.
func drawDigit(w io.Writer, px []float32) {
	const shades = " .:-=+*#%@"
	for r := 0; r < 8; r++ {
		var b strings.Builder
		b.WriteString("  ")
		for c := 0; c < 8; c++ {
			v := px[r*8+c]
			i := int(v * float32(len(shades)-1))
			i = min(max(i, 0), len(shades)-1)
			b.WriteByte(shades[i])
			b.WriteByte(shades[i])
		}
		fmt.Fprintln(w, b.String())
	}
}

// flagSet reports whether the command line set the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loadModel loads a model, saying plainly when the device asked for does
// not exist.
func loadModel(path string, opts []model.Option) (*model.Model, error) {
	m, err := model.Load(path, opts...)
	return m, deviceError(err)
}

// deviceError adds a hint to a missing device.
func deviceError(err error) error {
	if err != nil && errors.Is(err, rt.ErrNotFound) {
		return fmt.Errorf("%w (cann devices lists the devices of this machine)", err)
	}
	return err
}

// explainPlacement prints where the nodes run for these inputs: the counts
// per device and every node that falls back to the CPU, with the reason.
func explainPlacement(ios ioStreams, m *model.Model, feeds map[string]ops.Value) error {
	pm, err := m.Placement(feeds)
	if err != nil {
		return err
	}
	fmt.Fprint(ios.stdout, pm)
	return nil
}
