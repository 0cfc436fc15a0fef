package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// attentionRef computes at in float64, one score at a time.
func attentionRef(at *Attention, q, k, v []float32) []float64 {
	B, H, Sq, Sk, d, dv := at.Batch, at.Heads, at.SeqQ, at.SeqK, at.HeadDim, at.HeadDimV
	y := make([]float64, B*Sq*H*dv) // [B, Sq, H, dv]
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < Sq; i++ {
				s := make([]float64, Sk)
				mx := math.Inf(-1)
				for j := 0; j < Sk; j++ {
					var dot float64
					for c := 0; c < d; c++ {
						dot += float64(q[b*at.QStride[0]+i*at.QStride[1]+h*d+c]) * float64(k[b*at.KStride[0]+j*at.KStride[1]+h*d+c])
					}
					s[j] = float64(at.Scale) * dot
					if at.Mask != nil {
						s[j] += float64(at.Mask[b*at.MaskStride[0]+h*at.MaskStride[1]+i*at.MaskStride[2]+j])
					}
					if at.Causal && j > i {
						s[j] = math.Inf(-1)
					}
					mx = math.Max(mx, s[j])
				}
				var sum float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for c := 0; c < dv; c++ {
					var acc float64
					for j := range s {
						acc += s[j] / sum * float64(v[b*at.VStride[0]+j*at.VStride[1]+h*dv+c])
					}
					y[((b*Sq+i)*H+h)*dv+c] = acc
				}
			}
		}
	}
	return y
}

func TestAttention(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	rng := rand.New(rand.NewSource(3))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()*2 - 1
		}
		return s
	}
	type tc struct {
		b, h, sq, sk, d, dv int
		seqFirst, causal    bool
		mask                string // "", "full", "keys" (one row per batch), "heads" ([B*H, 1, Sk])
	}
	cases := []tc{
		{1, 1, 1, 1, 1, 1, false, false, ""},
		{2, 4, 7, 7, 8, 8, false, false, ""},
		{2, 4, 16, 16, 16, 16, false, true, ""},
		{1, 4, 33, 33, 64, 64, false, true, ""},
		{3, 2, 5, 9, 4, 6, false, false, "full"},
		{2, 3, 17, 17, 8, 8, true, false, "heads"},
		{2, 2, 40, 40, 16, 16, true, true, "keys"},
		{1, 2, 300, 300, 8, 8, false, true, "keys"},
		{2, 4, 9, 5, 8, 8, false, true, ""}, // causal with fewer keys than queries
		{1, 1, 3, 4, 0, 2, false, false, "full"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			at := &Attention{Batch: c.b, Heads: c.h, SeqQ: c.sq, SeqK: c.sk, HeadDim: c.d, HeadDimV: c.dv,
				Scale: 1 / float32(math.Sqrt(float64(max(c.d, 1)))), Causal: c.causal}
			hq, hv := c.h*c.d, c.h*c.dv
			if c.seqFirst {
				at.QStride = [2]int{hq, c.b * hq}
				at.KStride = [2]int{hq, c.b * hq}
				at.VStride = [2]int{hv, c.b * hv}
				at.YStride = [2]int{hv, c.b * hv}
			} else {
				at.QStride = [2]int{c.sq * hq, hq}
				at.KStride = [2]int{c.sk * hq, hq}
				at.VStride = [2]int{c.sk * hv, hv}
				at.YStride = [2]int{c.sq * hv, hv}
			}
			q, k, v := rnd(c.b*c.sq*hq), rnd(c.b*c.sk*hq), rnd(c.b*c.sk*hv)
			switch c.mask {
			case "full":
				at.Mask = rnd(c.b * c.h * c.sq * c.sk)
				at.MaskStride = [3]int{c.h * c.sq * c.sk, c.sq * c.sk, c.sk}
			case "keys":
				at.Mask = rnd(c.b * c.sk)
				for i := range at.Mask {
					if i%7 == 2 {
						at.Mask[i] = float32(math.Inf(-1))
					}
				}
				at.MaskStride = [3]int{c.sk, 0, 0}
			case "heads":
				at.Mask = rnd(c.b * c.h * c.sk)
				at.MaskStride = [3]int{c.h * c.sk, c.sk, 0}
			}
			y := make([]float32, c.b*c.sq*hv)
			at.Run(w, q, k, v, y)
			want := attentionRef(at, q, k, v)
			for b := 0; b < c.b; b++ {
				for i := 0; i < c.sq; i++ {
					for h := 0; h < c.h; h++ {
						for e := 0; e < c.dv; e++ {
							got := y[b*at.YStride[0]+i*at.YStride[1]+h*c.dv+e]
							w := want[((b*c.sq+i)*c.h+h)*c.dv+e]
							if !(math.Abs(float64(got)-w) <= 1e-5+1e-4*math.Abs(w)) && !(math.IsNaN(w) && got != got) {
								t.Fatalf("y[b=%d i=%d h=%d %d] = %g, want %g", b, i, h, e, got, w)
							}
						}
					}
				}
			}
		})
	}
}

func TestAttentionChecksBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	at := &Attention{Batch: 1, Heads: 2, SeqQ: 4, SeqK: 4, HeadDim: 2, HeadDimV: 2, QStride: [2]int{16, 4}, KStride: [2]int{16, 4}, VStride: [2]int{16, 4}, YStride: [2]int{16, 4}}
	at.Run(nil, make([]float32, 15), make([]float32, 16), make([]float32, 16), make([]float32, 16))
}
