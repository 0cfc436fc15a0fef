package kernels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// BenchmarkSgemmModelShapes reports GFLOP/s (wall, and from CPU time) of
// the active variant on GOMAXPROCS threads on the products the shared models run: convolutions as
// M=Cout, N=positions, K=Cin·kernel, transformer layers as M=tokens.
func BenchmarkSgemmModelShapes(b *testing.B) {
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"resnet_l1", 64, 3136, 576}, {"resnet_l2", 128, 784, 1152}, {"resnet_l3", 256, 196, 2304}, {"resnet_l4", 512, 49, 4608},
		{"mbv2_expand", 96, 12544, 16}, {"mbv2_56", 144, 3136, 24}, {"mbv2_project28", 32, 784, 144}, {"mbv2_14", 384, 196, 64}, {"mbv2_7", 960, 49, 160}, {"mbv2_head", 1280, 49, 320},
		{"bert_qkv", 128, 768, 256}, {"bert_ffn1", 128, 1024, 256}, {"bert_ffn2", 128, 256, 1024}, {"gpt_vocab", 128, 8192, 256},
	}
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			a, bb, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.1
			}
			// One untimed run: the first touches every page.
			Sgemm(w, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n, nil)
			b.ResetTimer()
			done := cpuTime(b, 2*float64(s.m)*float64(s.n)*float64(s.k))
			for i := 0; i < b.N; i++ {
				Sgemm(w, false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n, nil)
			}
			done()
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
