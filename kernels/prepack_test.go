package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// TestSgemmPrepackedExact: a product with B prepacked in this machine's
// panel width sums the same terms in the same order as Sgemm's blocked
// path packing B per call, so the results are bit for bit the same,
// batches included.
func TestSgemmPrepackedExact(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	rng := rand.New(rand.NewPCG(9, 0))
	for _, s := range []struct{ batch, m, n, k int }{
		{1, 1, 1, 1}, {1, 1, 300, 64}, {1, 7, 33, 19}, {1, 128, 256, 256}, {3, 40, 100, 700}, {2, 9, 1024, 64}, {1, 0, 5, 5}, {1, 5, 5, 0},
	} {
		for _, transB := range []bool{false, true} {
			a := randSlice(rng, s.batch*s.m*s.k)
			b := randSlice(rng, s.k*s.n)
			bias := randSlice(rng, s.n)
			ldb := s.n
			if transB {
				ldb = s.k
			}
			ldb = max(ldb, 1)
			bt := Batch{Count: s.batch, BStride: 0, CStride: s.m * s.n}
			bt.AOffsets = make([]int, s.batch)
			for i := range bt.AOffsets {
				bt.AOffsets[i] = i * s.m * s.k
			}
			ep := &Epilogue{ColBias: bias, Act: Activation{Kind: ActGelu}}
			want := make([]float32, s.batch*s.m*s.n)
			SgemmBatched(w, bt, false, transB, s.m, s.n, s.k, 0.5, a, max(s.k, 1), b, ldb, 0, want, max(s.n, 1), ep)
			pre, err := PackB(b, ldb, transB, s.k, s.n, PackedNR())
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			SgemmPrepacked(w, bt, false, s.m, s.n, s.k, 0.5, a, max(s.k, 1), pre, PackedNR(), 0, got, max(s.n, 1), ep)
			// Few rows or one column take Sgemm's unpacked paths, which sum
			// in another order.
			exact := s.m > 8 && s.n > 1
			for i := range want {
				if d := float64(got[i] - want[i]); exact && d != 0 || math.Abs(d) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v transB=%v: C[%d] = %g, want %g", s, transB, i, got[i], want[i])
				}
			}
		}
	}
}

func TestPackBChecks(t *testing.T) {
	for _, c := range []struct {
		b             []float32
		ldb, k, n, nr int
		trans         bool
	}{
		{make([]float32, 5), 3, 2, 3, 16, false},
		{make([]float32, 6), 2, 2, 3, 16, false},
		{make([]float32, 6), 3, 2, 3, 0, false},
		{make([]float32, 6), 3, -1, 3, 16, false},
		{make([]float32, 5), 2, 2, 3, 16, true},
	} {
		if _, err := PackB(c.b, c.ldb, c.trans, c.k, c.n, c.nr); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	pre, err := PackB([]float32{1, 2, 3, 4, 5, 6}, 3, false, 2, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Panels of 2 columns: [1 2; 4 5], then [3 0; 6 0].
	want := []float32{1, 2, 4, 5, 3, 0, 6, 0}
	for i := range want {
		if pre[i] != want[i] {
			t.Fatalf("packed %v, want %v", pre, want)
		}
	}
}
