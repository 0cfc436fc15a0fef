package kernels

import (
	"fmt"
	"math"

	"github.com/gocann/gocann/runtime/cpu"
)

// LayerNorm normalizes each row of a Rows x N matrix, optionally after
// adding a skip connection and a bias (SkipLayerNormalization):
//
//	s    = x[r] + Skip[r mod SkipRows] + Bias
//	y[r] = (s - mean(s)) / sqrt(var(s) + Epsilon) · Gamma + Beta
//
// with the variance over N (biased), computed in two passes over the row
// (mean first) so that large offsets do not cancel. Nil Skip, Bias, Gamma
// or Beta is skipped (Gamma nil means 1). Sum, Mean and InvStd, when not
// nil, receive s, the row means and 1/sqrt(var + Epsilon). Each row is
// read once from memory and finished in cache.
type LayerNorm struct {
	Rows, N     int
	Epsilon     float32
	Gamma, Beta []float32
	Skip        []float32
	SkipRows    int
	Bias        []float32
	Sum         []float32
	Mean        []float32
	InvStd      []float32
}

func (ln *LayerNorm) check(x, y []float32) {
	rn := ln.Rows * ln.N
	short := func(name string, s []float32, n int) {
		if s != nil && len(s) < n {
			panic(fmt.Sprintf("kernels: layer norm: %s has %d elements, needs %d", name, len(s), n))
		}
	}
	if ln.Rows < 0 || ln.N < 0 || ln.Skip != nil && ln.SkipRows <= 0 {
		panic(fmt.Sprintf("kernels: layer norm: bad dimensions rows=%d n=%d skip rows=%d", ln.Rows, ln.N, ln.SkipRows))
	}
	if len(x) < rn || len(y) < rn {
		panic(fmt.Sprintf("kernels: layer norm: x or y shorter than %d", rn))
	}
	short("gamma", ln.Gamma, ln.N)
	short("beta", ln.Beta, ln.N)
	short("bias", ln.Bias, ln.N)
	short("skip", ln.Skip, ln.SkipRows*ln.N)
	short("sum", ln.Sum, rn)
	short("mean", ln.Mean, ln.Rows)
	short("inverse std", ln.InvStd, ln.Rows)
}

// Run normalizes x into y (which may be x) on the worker pool (w may be
// nil). It panics if a slice is too short.
func (ln *LayerNorm) Run(w *cpu.Workers, x, y []float32) {
	ln.check(x, y)
	n := ln.N
	if ln.Rows == 0 {
		return
	}
	grain := max(1, 16384/max(n, 1))
	if ln.Rows*n < 1<<14 {
		w = nil
	}
	parallelFor(w, ln.Rows, grain, func(lo, hi int) {
		var scratch *[]float32
		if ln.Sum == nil && (ln.Skip != nil || ln.Bias != nil) {
			scratch = getBuf(n)
			defer putBuf(scratch)
		}
		for r := lo; r < hi; r++ {
			xr := x[r*n : (r+1)*n]
			yr := y[r*n : (r+1)*n]
			s := xr
			if ln.Skip != nil || ln.Bias != nil {
				if ln.Sum != nil {
					s = ln.Sum[r*n : (r+1)*n]
				} else {
					s = (*scratch)[:n]
				}
				var skip []float32
				if ln.Skip != nil {
					sr := r % ln.SkipRows
					skip = ln.Skip[sr*n : (sr+1)*n]
				}
				addRow(s, xr, skip, ln.Bias)
			} else if ln.Sum != nil {
				copy(ln.Sum[r*n:(r+1)*n], xr)
			}
			mean := sumRow(s) / float32(max(n, 1))
			v := sqDevRow(s, mean) / float32(max(n, 1))
			inv := float32(1 / math.Sqrt(float64(v)+float64(ln.Epsilon)))
			if ln.Mean != nil {
				ln.Mean[r] = mean
			}
			if ln.InvStd != nil {
				ln.InvStd[r] = inv
			}
			normRow(yr, s, mean, inv, ln.Gamma, ln.Beta)
		}
	})
}

// addRow sets s = x + skip + bias (skip and bias may be nil).
func addRow(s, x, skip, bias []float32) {
	x = x[:len(s)]
	switch {
	case skip != nil && bias != nil:
		BinaryF32(Add, s, x, skip[:len(s)])
		BinaryF32(Add, s, s, bias[:len(s)])
	case skip != nil:
		BinaryF32(Add, s, x, skip[:len(s)])
	case bias != nil:
		BinaryF32(Add, s, x, bias[:len(s)])
	default:
		copy(s, x)
	}
}

// sumRow returns Σ x in eight interleaved float32 partial sums (in the
// vector kernels, one per lane of two vectors).
func sumRow(x []float32) float32 {
	if f := simd.rowSum; f != nil && len(x) > 0 {
		return f(&x[0], len(x))
	}
	var a [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i:])
		a[0] += v[0]
		a[1] += v[1]
		a[2] += v[2]
		a[3] += v[3]
		a[4] += v[4]
		a[5] += v[5]
		a[6] += v[6]
		a[7] += v[7]
	}
	for ; i < len(x); i++ {
		a[0] += x[i]
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// sqDevRow returns Σ (x - mean)².
func sqDevRow(x []float32, mean float32) float32 {
	if f := simd.rowSqDev; f != nil && len(x) > 0 {
		return f(&x[0], len(x), mean)
	}
	var a [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i:])
		d0, d1, d2, d3 := v[0]-mean, v[1]-mean, v[2]-mean, v[3]-mean
		d4, d5, d6, d7 := v[4]-mean, v[5]-mean, v[6]-mean, v[7]-mean
		a[0] += d0 * d0
		a[1] += d1 * d1
		a[2] += d2 * d2
		a[3] += d3 * d3
		a[4] += d4 * d4
		a[5] += d5 * d5
		a[6] += d6 * d6
		a[7] += d7 * d7
	}
	for ; i < len(x); i++ {
		d := x[i] - mean
		a[0] += d * d
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// normRow sets y = (s - mean)·inv·gamma + beta (gamma, beta may be nil).
func normRow(y, s []float32, mean, inv float32, gamma, beta []float32) {
	s = s[:len(y)]
	switch {
	case gamma != nil && beta != nil && simd.rowNorm != nil && len(y) > 0:
		gamma, beta = gamma[:len(y)], beta[:len(y)]
		simd.rowNorm(&y[0], &s[0], len(y), mean, inv, &gamma[0], &beta[0])
	case gamma != nil && beta != nil:
		gamma, beta = gamma[:len(y)], beta[:len(y)]
		for i := range y {
			y[i] = (s[i]-mean)*inv*gamma[i] + beta[i]
		}
	case gamma != nil:
		gamma = gamma[:len(y)]
		for i := range y {
			y[i] = (s[i] - mean) * inv * gamma[i]
		}
	case beta != nil:
		beta = beta[:len(y)]
		for i := range y {
			y[i] = (s[i]-mean)*inv + beta[i]
		}
	default:
		for i := range y {
			y[i] = (s[i] - mean) * inv
		}
	}
}
