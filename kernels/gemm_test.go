package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/runtime/cpu"
)

// gemmCase is one product to check.
type gemmCase struct {
	ta, tb        bool
	m, n, k       int
	lda, ldb, ldc int
	alpha, beta   float32
	rowBias       bool
	colBias       bool
	relu          bool
	residual      bool
	resLD         int // 0: one row for all
	act           Activation
	// prepack: 0 B as stored, 1 B prepacked in the variant's panel
	// width (read in place), 2 prepacked in another width (repacked), 3
	// B given as rows at offsets (SgemmRowsB; not transposed).
	prepack int
}

func (c gemmCase) String() string {
	return fmt.Sprintf("ta=%v tb=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g rb=%v cb=%v relu=%v res=%v/%d act=%v prepack=%d",
		c.ta, c.tb, c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.alpha, c.beta, c.rowBias, c.colBias, c.relu, c.residual, c.resLD, c.act, c.prepack)
}

// randomAct returns one of the activations with typical parameters.
func randomAct(rng *rand.Rand) Activation {
	k := ActKind(rng.Intn(int(numActKinds)))
	a := Activation{Kind: k}
	switch k {
	case ActClip:
		a.A, a.B = -0.5, 0.75
	case ActLeakyReLU:
		a.A = 0.1
	case ActHardSigmoid:
		a.A, a.B = 0.2, 0.5
	}
	return a
}

func randomCase(rng *rand.Rand, m, n, k int) gemmCase {
	c := gemmCase{ta: rng.Intn(2) == 0, tb: rng.Intn(2) == 0, m: m, n: n, k: k}
	c.lda, c.ldb = k, n
	if c.ta {
		c.lda = m
	}
	if c.tb {
		c.ldb = k
	}
	c.lda += rng.Intn(3)
	c.ldb += rng.Intn(3)
	c.ldc = n + rng.Intn(3)
	c.lda, c.ldb = max(c.lda, 1), max(c.ldb, 1)
	c.prepack = max(0, rng.Intn(5)-1)
	if c.prepack == 3 && c.tb {
		c.prepack = 0
	}
	alphas := []float32{1, 1, -1, 0.5, 0}
	betas := []float32{0, 0, 1, 1, 0.25, -2}
	c.alpha = alphas[rng.Intn(len(alphas))]
	c.beta = betas[rng.Intn(len(betas))]
	c.rowBias = rng.Intn(3) == 0
	c.colBias = rng.Intn(3) == 0
	c.relu = rng.Intn(3) == 0
	if rng.Intn(3) == 0 {
		c.residual = true
		c.resLD = []int{0, n, n + 3}[rng.Intn(3)]
	}
	if !c.relu && rng.Intn(2) == 0 {
		c.act = randomAct(rng)
	}
	return c
}

const guard = 12345.5

// check runs c with variant v on w against SgemmReference; C lies in a
// buffer with guard values before, after and between its rows.
func check(t *testing.T, v *variant, w *cpu.Workers, c gemmCase, rng *rand.Rand) {
	t.Helper()
	ar, ac := c.m, c.k
	if c.ta {
		ar, ac = c.k, c.m
	}
	br, bc := c.k, c.n
	if c.tb {
		br, bc = c.n, c.k
	}
	a := make([]float32, max(ar*c.lda, 1))
	b := make([]float32, max(br*c.ldb, 1))
	_ = ac
	_ = bc
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	for i := range b {
		b[i] = rng.Float32()*2 - 1
	}
	const pad = 40
	cbuf := make([]float32, pad+c.m*c.ldc+pad)
	for i := range cbuf {
		cbuf[i] = guard
	}
	cm := cbuf[pad : pad+c.m*c.ldc]
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			cm[i*c.ldc+j] = rng.Float32()*2 - 1
			if c.beta == 0 && rng.Intn(7) == 0 {
				cm[i*c.ldc+j] = float32(math.NaN()) // must not be read
			}
		}
	}
	ep := &Epilogue{ReLU: c.relu, Act: c.act}
	if c.residual {
		ep.ResidualLD = c.resLD
		ep.Residual = make([]float32, max(c.m*c.resLD, c.n))
		for i := range ep.Residual {
			ep.Residual[i] = rng.Float32()*2 - 1
		}
	}
	if c.rowBias {
		ep.RowBias = make([]float32, c.m)
		for i := range ep.RowBias {
			ep.RowBias[i] = rng.Float32()*2 - 1
		}
	}
	if c.colBias {
		ep.ColBias = make([]float32, c.n)
		for i := range ep.ColBias {
			ep.ColBias[i] = rng.Float32()*2 - 1
		}
	}
	want := append([]float32(nil), cm...)
	SgemmReference(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, want, c.ldc, ep)
	g := &problem{Batch{Count: 1}, c.ta, c.tb, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, cm, c.ldc, ep, nil, nil, nil}
	if c.prepack == 3 {
		offs := make([]int, c.k)
		for p := range offs {
			offs[p] = p * c.ldb
		}
		g.b, g.ldb, g.pack, g.rows = nil, 0, RowsPacker(b, offs, c.n), &rowsB{b, offs}
	} else if c.prepack != 0 {
		nr := v.nr
		if c.prepack == 2 {
			nr = v.nr/2 + 3
		}
		pre, err := PackB(b, c.ldb, c.tb, c.k, c.n, nr)
		if err != nil {
			t.Fatal(err)
		}
		g.b, g.ldb, g.transB, g.pack = nil, 0, false, prepackedPacker(pre, c.k, nr)
		if c.prepack == 1 {
			g.pre = pre
		}
	}
	v.gemm(w, g)
	for i := 0; i < pad; i++ {
		if cbuf[i] != guard || cbuf[len(cbuf)-1-i] != guard {
			t.Fatalf("%s %v: guard overwritten", v.name, c)
		}
	}
	for i := 0; i < c.m; i++ {
		for j := c.n; j < c.ldc; j++ {
			if cm[i*c.ldc+j] != guard {
				t.Fatalf("%s %v: C[%d][%d] past n overwritten", v.name, c, i, j)
			}
		}
		for j := 0; j < c.n; j++ {
			got, exp := cm[i*c.ldc+j], want[i*c.ldc+j]
			// Bound: a few ulp per term of the sum.
			mag := math.Abs(float64(c.beta))*2 + 3 + float64(c.k)*math.Abs(float64(c.alpha))
			tol := 4 * math.Pow(2, -24) * float64(c.k+4) * mag
			if c.act.Kind != ActNone {
				// Activations move an error by at most 1.2 times and add
				// a few ulp of their own.
				tol = 1.2*tol + 4e-7*math.Abs(float64(exp)) + 1e-7
			}
			if !(math.Abs(float64(got-exp)) <= tol) && !(got != got && exp != exp) {
				t.Fatalf("%s %v: C[%d][%d] = %g, want %g (tolerance %g)", v.name, c, i, j, got, exp, tol)
			}
		}
	}
}

// TestSgemmVariants checks every registered micro-kernel against the
// reference over many shapes, transposes, strides, scalars and epilogues.
func TestSgemmVariants(t *testing.T) {
	w := cpu.NewWorkers(3)
	defer w.Close()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			// Every m and n in 0..70 with a few depths, including ones
			// crossing the KC blocking.
			ks := []int{0, 1, 2, 3, 5, 8, 17, 33, 70}
			for m := 0; m <= 70; m++ {
				for n := 0; n <= 70; n += 1 + rng.Intn(4) {
					k := ks[rng.Intn(len(ks))]
					check(t, v, nil, randomCase(rng, m, n, k), rng)
				}
			}
			for i := 0; i < 300; i++ {
				check(t, v, w, randomCase(rng, rng.Intn(71), rng.Intn(71), rng.Intn(71)), rng)
			}
			// Deep and large products, several depth blocks and tasks.
			for _, s := range [][3]int{{13, 37, 600}, {100, 130, 300}, {64, 64, 1030}, {150, 300, 257}, {7, 500, 129}, {300, 9, 200}, {1, 5000, 300}, {1, 2100, 1030}} {
				for i := 0; i < 3; i++ {
					check(t, v, w, randomCase(rng, s[0], s[1], s[2]), rng)
				}
			}
		})
	}
}

// TestSgemmBatched checks batched products with offsets and strides against
// one call per matrix.
func TestSgemmBatched(t *testing.T) {
	w := cpu.NewWorkers(2)
	defer w.Close()
	rng := rand.New(rand.NewSource(2))
	for _, v := range variants {
		for _, s := range [][4]int{{3, 5, 7, 9}, {4, 128, 64, 128}, {2, 1, 40, 30}, {5, 40, 1, 30}, {6, 20, 30, 0}} {
			batch, m, n, k := s[0], s[1], s[2], s[3]
			a := make([]float32, 2*m*k+1)
			b := make([]float32, batch*k*n+1)
			for i := range a {
				a[i] = rng.Float32()
			}
			for i := range b {
				b[i] = rng.Float32()
			}
			aOff := make([]int, batch)
			for i := range aOff {
				aOff[i] = (i % 2) * m * k // A broadcast over pairs
			}
			got := make([]float32, batch*m*n)
			want := make([]float32, batch*m*n)
			ep := &Epilogue{ColBias: make([]float32, n), Residual: make([]float32, batch*m*n), ResidualLD: n, Act: Activation{Kind: ActGelu}}
			for i := range ep.ColBias {
				ep.ColBias[i] = float32(i) * 0.01
			}
			for i := range ep.Residual {
				ep.Residual[i] = rng.Float32() - 0.5
			}
			v.gemm(w, &problem{Batch{Count: batch, AOffsets: aOff, BStride: k * n, CStride: m * n}, false, false, m, n, k, 1, a, max(k, 1), b, n, 0, got, n, ep, nil, nil, nil})
			for t2 := 0; t2 < batch; t2++ {
				ept := *ep
				ept.Residual = ep.Residual[t2*m*n:]
				SgemmReference(false, false, m, n, k, 1, a[aOff[t2]:], max(k, 1), b[t2*k*n:], n, 0, want[t2*m*n:], n, &ept)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*float64(k+1) {
					t.Fatalf("%s batch %v: element %d = %g, want %g", v.name, s, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSgemmChecksBounds checks that a short slice panics instead of
// reaching the assembly.
func TestSgemmChecksBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Sgemm(nil, false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4, nil)
}

func TestVariantPicked(t *testing.T) {
	t.Logf("SGEMM variant %s; variants:", Variant())
	for _, v := range variants {
		t.Logf("  %s %dx%d kc=%d", v.name, v.mr, v.nr, v.kcMax())
	}
}
