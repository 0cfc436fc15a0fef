package kernels

import "testing"

// The machine these benchmarks run on is shared, so wall time per op
// swings with other work; the CPU time the process used (all threads) is
// far steadier. cpuTime reports it as cpu-ns/op, and GFLOP/s-cpu from it
// when flops > 0 (per op).
func cpuTime(b *testing.B, flops float64) func() {
	start := processCPU()
	return func() {
		d := processCPU() - start
		if d <= 0 {
			return // not reported on this system
		}
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		if flops > 0 && d > 0 {
			b.ReportMetric(flops*float64(b.N)/d.Seconds()/1e9, "GFLOP/s-cpu")
		}
	}
}
