package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/model"
)

func convertCommand() *command {
	return &command{
		name:    "convert",
		summary: "compile an ONNX model into a .cann file that loads fast (like CANN's ATC)",
		usage: `cann convert MODEL.onnx [-o MODEL.cann] [--shapes NAME:1x3x224x224,...] [--opt-level N] [--cpu native|generic|LIST] [--explain] [--progress]

Optimizes MODEL as loading it would (at --opt-level; --shapes fixes the
sizes of symbolic input dimensions first) and writes the result as a
compiled model: a manifest, the optimized graph and its weights laid out
to be memory-mapped. "cann run", "cann bench" and the Go API (model.Load)
accept the file and skip the optimization; "cann inspect" describes it.

The file is tied to this GoCANN release and, with --cpu native (the
default), to the CPU features of this machine that the kernels use; a
machine lacking one refuses it. --cpu generic writes a file any machine of
this architecture loads.`,
		setup: func(fs *flag.FlagSet) func(context.Context, ioStreams, []string) error {
			out := fs.String("o", "", "write the compiled model to `FILE` (default: MODEL with extension .cann)")
			var shapes inputShapes
			fs.Var(&shapes, "shapes", "fix input shapes: `NAME:DIMS,...` with DIMS like 1x3x224x224")
			level := fs.Int("opt-level", model.DefaultOptLevel, "optimization `level`: 0 none, 1 basic, 2 extended, 3 layout")
			cpuFlag := fs.String("cpu", "native", "CPU features to compile for: native, generic or a `LIST` like avx2,fma")
			explain := fs.Bool("explain", false, "print what each optimization pass did")
			progress := fs.Bool("progress", false, "draw a progress bar on stderr even when it is not a terminal")
			return func(ctx context.Context, ios ioStreams, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("want one MODEL, got %d arguments: %w", len(args), errUsage)
				}
				src := args[0]
				dst := *out
				if dst == "" {
					dst = strings.TrimSuffix(src, filepath.Ext(src)) + ".cann"
				}
				feats, err := compiled.ParseCPUTarget(*cpuFlag)
				if err != nil {
					return fmt.Errorf("--cpu: %v: %w", err, errUsage)
				}
				opts := []model.Option{model.WithOptLevel(*level), model.WithCPUFeatures(feats)}
				if len(shapes) > 0 {
					sh := map[string][]int64{}
					for name, s := range shapes {
						for _, d := range s {
							sh[name] = append(sh[name], int64(d))
						}
						if sh[name] == nil {
							sh[name] = []int64{} // a scalar
						}
					}
					opts = append(opts, model.WithShapes(sh))
				}
				var bar *progressBar
				if *progress || isTerminal(ios.stderr) {
					bar = newProgressBar(ios.stderr)
					opts = append(opts, model.WithProgress(bar.update))
				}
				start := time.Now()
				conv, err := model.Convert(src, dst, opts...)
				if bar != nil {
					bar.finish()
				}
				if err != nil {
					return err
				}
				elapsed := time.Since(start)
				if *explain {
					fmt.Fprint(ios.stdout, conv.Report.String())
					if err := explainPlan(ios, dst); err != nil {
						fmt.Fprintf(ios.stdout, "no memory plan: %v\n", err)
					}
				}
				st, err := os.Stat(dst)
				if err != nil {
					return err
				}
				m := conv.Manifest
				fmt.Fprintf(ios.stdout, "%s: %s, %d nodes, %s of weights in %d tensors, opt level %d, for %s %s, in %s\n",
					dst, mb(st.Size()), m.Nodes, mb(m.Weights.Bytes), m.Weights.Tensors, m.OptLevel,
					m.Target.Arch, featureList(m.Target.CPUFeatures), round(elapsed))
				return nil
			}
		},
	}
}

// explainPlan prints the memory plan of the compiled model at path (peak
// arena bytes, launches) for its input shapes, symbolic dims taken as 1.
func explainPlan(ios ioStreams, path string) error {
	m, err := model.Load(path)
	if err != nil {
		return err
	}
	defer m.Close()
	feeds, err := randomInputs(m.Inputs(), nil, nil, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return err
	}
	plan, err := m.MemoryPlan(feeds)
	if err != nil {
		return err
	}
	fmt.Fprint(ios.stdout, plan)
	for _, in := range m.Inputs() {
		if !in.Type.Static() {
			fmt.Fprintln(ios.stdout, "  (symbolic dimensions planned as 1: fix them with --shapes)")
			break
		}
	}
	return nil
}

func featureList(f []string) string {
	if len(f) == 0 {
		return "(generic)"
	}
	s := append([]string(nil), f...)
	sort.Strings(s)
	return "[" + strings.Join(s, " ") + "]"
}
