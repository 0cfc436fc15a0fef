// Command bench-load times loading a model, for the "Model loading" table
// of BENCHMARKS.md (scripts/bench-load runs it interleaved with ONNX
// Runtime). For one model it converts the ONNX file to a compiled one
// once, then, RUNS times in rotation, times:
//
//	onnx      model.Load of the ONNX file (parse, weights copied)
//	compiled  model.Load of the compiled file (weights mapped)
//	open-mmap compiled.Open alone, mapped (the container's share)
//	open-read compiled.Open alone, read into memory
//	touch     compiled.Open, mapped, then one read per page of every
//	          weight: the page faults a first run pays for the lazy mapping
//	verify    compiled.Open, mapped, weights checksum verified
//
// and prints the median of each in milliseconds. Every load is closed
// before the next.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/gocann/gocann/compiled"
	"github.com/gocann/gocann/model"
	"github.com/gocann/gocann/tensor"
)

var sink byte

// touchPages reads one byte of every 4 KiB page of the tensors.
func touchPages(ts map[string]*tensor.Tensor) {
	for _, t := range ts {
		b, _ := t.HostBytes()
		for i := 0; i < len(b); i += 4096 {
			sink += b[i]
		}
	}
}

func main() {
	runs := flag.Int("runs", 5, "timed loads of each kind")
	threads := flag.Int("threads", 2, "CPU worker threads")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: bench-load [--runs N] [--threads N] MODEL.onnx")
	}
	src := flag.Arg(0)
	dir, err := os.MkdirTemp("", "bench-load")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dst := filepath.Join(dir, "model.cann")
	if _, err := model.Convert(src, dst); err != nil {
		log.Fatal(err)
	}
	opts := []model.Option{model.WithThreads(*threads)}
	loadModel := func(path string) func() error {
		return func() error {
			m, err := model.Load(path, opts...)
			if err != nil {
				return err
			}
			return m.Close()
		}
	}
	open := func(o ...compiled.Option) func() error {
		return func() error {
			m, err := compiled.Open(dst, o...)
			if err != nil {
				return err
			}
			return m.Close()
		}
	}
	kinds := []struct {
		name string
		f    func() error
	}{
		{"onnx", loadModel(src)},
		{"compiled", loadModel(dst)},
		{"open-mmap", open()},
		{"open-read", open(compiled.WithoutMmap())},
		{"touch", func() error {
			m, err := compiled.Open(dst)
			if err != nil {
				return err
			}
			touchPages(m.Graph.Graph.Initializers)
			return m.Close()
		}},
		{"verify", open(compiled.WithVerifyWeights(true))},
	}
	times := make([][]float64, len(kinds))
	for r := -1; r < *runs; r++ { // round -1 warms the page cache
		for i, k := range kinds {
			start := time.Now()
			if err := k.f(); err != nil {
				log.Fatal(err)
			}
			if r >= 0 {
				times[i] = append(times[i], float64(time.Since(start).Microseconds())/1000)
			}
		}
	}
	for i, k := range kinds {
		sort.Float64s(times[i])
		fmt.Printf("%s_ms %.2f\n", k.name, times[i][(len(times[i])-1)/2])
	}
}
