package passes_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/passes"
	"github.com/gocann/gocann/tensor"
)

// fuseCase is a small graph, what level 2 must turn it into, and inputs
// to check that the fused graph computes what the original does.
type fuseCase struct {
	name  string
	opset int // 0: the builder's (18)
	// build makes the graph; inputs are declared with symbolic dims where
	// the case says so, and fed with the shapes in feeds.
	build   func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor
	wantOps []string
	check   func(t *testing.T, g *graph.Graph)
}

func runFuseCases(t *testing.T, cases []fuseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() (*graph.Model, map[string]*tensor.Tensor) {
				b := newBuilder()
				feeds := tc.build(t, b, rand.New(rand.NewPCG(1, 2)))
				m := b.model()
				if tc.opset != 0 {
					m.Opsets[""] = tc.opset
				}
				return m, feeds
			}
			ref, feeds := mk()
			want := runModel(t, ref, feeds)
			m, _ := mk()
			optimize(t, m, 2)
			if got := opTypes(m.Graph); !slices.Equal(got, tc.wantOps) {
				t.Fatalf("nodes %v, want %v", got, tc.wantOps)
			}
			if tc.check != nil {
				tc.check(t, m.Graph)
			}
			if m.Opset(ops.DomainGoCANN) != 1 && slices.ContainsFunc(m.Graph.Nodes, func(n *graph.Node) bool { return n.Domain == ops.DomainGoCANN }) {
				t.Fatalf("com.gocann not imported: %v", m.Opsets)
			}
			checkSame(t, runModel(t, m, feeds), want)
		})
	}
}

// node returns the only node of type op.
func node(t *testing.T, g *graph.Graph, op string) *graph.Node {
	t.Helper()
	var found *graph.Node
	for _, n := range g.Nodes {
		if n.OpType == op {
			if found != nil {
				t.Fatalf("two %s nodes", op)
			}
			found = n
		}
	}
	if found == nil {
		t.Fatalf("no %s node", op)
	}
	return found
}

func wantActivation(name string, params ...float32) func(t *testing.T, g *graph.Graph) {
	return func(t *testing.T, g *graph.Graph) {
		t.Helper()
		for _, n := range g.Nodes {
			if n.Domain != ops.DomainGoCANN {
				continue
			}
			if a := n.Attrs["activation"]; a.String != name || !slices.Equal(n.Attrs["activation_params"].Floats, params) {
				t.Fatalf("%v: activation %q %v, want %q %v", n, a.String, n.Attrs["activation_params"].Floats, name, params)
			}
			return
		}
		t.Fatal("no fused node")
	}
}

func scalarF(t *testing.T, v float32) *tensor.Tensor { return f32(t, []float32{v}) }

func TestConvFusion(t *testing.T) {
	conv := func(t *testing.T, b *builder, r *rand.Rand, batch int) (x, y string, feeds map[string]*tensor.Tensor) {
		x = b.input("x", batch, 4, 6, 6)
		w := b.init("w", randF32(t, r, 8, 4, 3, 3))
		bias := b.init("b", randF32(t, r, 8))
		y = b.op("Conv", "y", attrs("pads", ints(1, 1, 1, 1)), x, w, bias)
		return x, y, map[string]*tensor.Tensor{"x": randF32(t, r, 2, 4, 6, 6)}
	}
	runFuseCases(t, []fuseCase{
		{"residual and relu, symbolic batch", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, -1)
			z := b.input("z", -1, 8, 6, 6)
			feeds["z"] = randF32(t, r, 2, 8, 6, 6)
			b.output(b.op("Relu", "out", nil, b.op("Add", "s", nil, z, y)))
			return feeds
		}, []string{"FusedConv"}, func(t *testing.T, g *graph.Graph) {
			n := node(t, g, "FusedConv")
			if !slices.Equal(n.Inputs, []string{"x", "w", "b", "z"}) || n.Outputs[0] != "out" {
				t.Fatalf("FusedConv %v -> %v", n.Inputs, n.Outputs)
			}
			wantActivation("Relu")(t, g)
		}},
		{"relu6", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, 2)
			b.output(b.op("Clip", "out", nil, y, b.init("lo", scalarF(t, 0)), b.init("hi", scalarF(t, 6))))
			return feeds
		}, []string{"FusedConv"}, wantActivation("Clip", 0, 6)},
		{"silu", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, 2)
			b.output(b.op("Mul", "out", nil, b.op("Sigmoid", "s", nil, y), y))
			return feeds
		}, []string{"FusedConv"}, wantActivation("SiLU")},
		{"hardswish after a broadcast residual", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, 2)
			z := b.input("z", 8, 1, 1)
			feeds["z"] = randF32(t, r, 8, 1, 1)
			b.output(b.op("HardSwish", "out", nil, b.op("Add", "s", nil, y, z)))
			return feeds
		}, []string{"FusedConv"}, wantActivation("HardSwish")},
		{"conv output read twice stays", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, 2)
			b.output(b.op("Relu", "out", nil, y), y)
			return feeds
		}, []string{"Conv", "Relu"}, nil},
		{"sigmoid of something else is not silu", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			_, y, feeds := conv(t, b, r, 2)
			g := b.op("GlobalAveragePool", "g", nil, y)
			b.output(b.op("Mul", "out", nil, y, b.op("Sigmoid", "s", nil, g)))
			return feeds
		}, []string{"Conv", "GlobalAveragePool", "Sigmoid", "Mul"}, nil},
	})
}

func TestMatMulFusion(t *testing.T) {
	runFuseCases(t, []fuseCase{
		{"bias and gelu, symbolic dims", 20, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", -1, -1, 16)
			w := b.init("w", randF32(t, r, 16, 24))
			bias := b.init("bias", randF32(t, r, 24))
			y := b.op("Add", "y", nil, bias, b.op("MatMul", "p", nil, x, w))
			b.output(b.op("Gelu", "out", nil, y))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 2, 5, 16)}
		}, []string{"FusedMatMul"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "FusedMatMul"); !slices.Equal(n.Inputs, []string{"x", "w", "bias"}) {
				t.Fatalf("inputs %v", n.Inputs)
			}
			wantActivation("Gelu")(t, g)
		}},
		{"residual", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x, z := b.input("x", 3, 16), b.input("z", 3, 24)
			w := b.init("w", randF32(t, r, 16, 24))
			b.output(b.op("Add", "out", nil, b.op("MatMul", "p", nil, x, w), z))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 16), "z": randF32(t, r, 3, 24)}
		}, []string{"FusedMatMul"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "FusedMatMul"); !slices.Equal(n.Inputs, []string{"x", "w", "", "z"}) {
				t.Fatalf("inputs %v", n.Inputs)
			}
		}},
		{"a matrix is no bias", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 16)
			w := b.init("w", randF32(t, r, 16, 24))
			b.output(b.op("Add", "out", nil, b.op("MatMul", "p", nil, x, w), b.init("m", randF32(t, r, 3, 24))))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 16)}
		}, []string{"FusedMatMul"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "FusedMatMul"); n.Inputs[2] != "" || n.Inputs[3] == "" {
				t.Fatalf("inputs %v", n.Inputs)
			}
		}},
		{"gemm and sigmoid", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 4, 16)
			w := b.init("w", randF32(t, r, 10, 16))
			c := b.init("c", randF32(t, r, 10))
			b.output(b.op("Sigmoid", "out", nil, b.op("Gemm", "g", attrs("transB", attrInt(1), "alpha", attrF(0.5)), x, w, c)))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 4, 16)}
		}, []string{"FusedGemm"}, func(t *testing.T, g *graph.Graph) {
			n := node(t, g, "FusedGemm")
			if n.Attrs["transB"].Int != 1 || n.Attrs["alpha"].Float != 0.5 || n.Attrs["activation"].String != "Sigmoid" {
				t.Fatalf("attributes %v", n.Attrs)
			}
		}},
		{"matmul alone stays", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 16)
			b.output(b.op("MatMul", "out", nil, x, b.init("w", randF32(t, r, 16, 24))))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 16)}
		}, []string{"MatMul"}, nil},
	})
}

// decomposedLayerNorm writes LayerNorm over the last axis as exporters
// do before opset 17 (ReduceMean with an axes attribute).
func decomposedLayerNorm(t *testing.T, b *builder, r *rand.Rand, x, out string, h int) string {
	axes := attrs("axes", ints(-1))
	mean := b.op("ReduceMean", out+"_mean", axes, x)
	d := b.op("Sub", out+"_d", nil, x, mean)
	sq := b.op("Pow", out+"_sq", nil, d, b.init(out+"_two", scalarF(t, 2)))
	v := b.op("ReduceMean", out+"_var", axes, sq)
	ve := b.op("Add", out+"_ve", nil, v, b.init(out+"_eps", scalarF(t, 1e-5)))
	n := b.op("Div", out+"_n", nil, d, b.op("Sqrt", out+"_std", nil, ve))
	g := b.op("Mul", out+"_g", nil, n, b.init(out+"_gamma", randF32(t, r, h)))
	return b.op("Add", out, nil, g, b.init(out+"_beta", randF32(t, r, h)))
}

func TestLayerNormFusion(t *testing.T) {
	runFuseCases(t, []fuseCase{
		{"decomposed", 14, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", -1, -1, 32)
			b.output(decomposedLayerNorm(t, b, r, x, "out", 32))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 2, 3, 32)}
		}, []string{"LayerNormalization"}, func(t *testing.T, g *graph.Graph) {
			n := node(t, g, "LayerNormalization")
			if n.Domain != ops.DomainGoCANN || len(n.Inputs) != 3 || math.Abs(float64(n.Attrs["epsilon"].Float)-1e-5) > 1e-12 {
				t.Fatalf("%v %v %v", n.Domain, n.Inputs, n.Attrs)
			}
		}},
		{"residual before it", 14, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x, s := b.input("x", -1, -1, 32), b.input("s", -1, -1, 32)
			b.output(decomposedLayerNorm(t, b, r, b.op("Add", "sum", nil, x, s), "out", 32))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 2, 3, 32), "s": randF32(t, r, 2, 3, 32)}
		}, []string{"SkipLayerNormalization"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "SkipLayerNormalization"); len(n.Outputs) != 1 || !slices.Equal(n.Inputs[:2], []string{"x", "s"}) {
				t.Fatalf("%v -> %v", n.Inputs, n.Outputs)
			}
		}},
		{"residual read again keeps the sum (pre-LN)", 14, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x, s := b.input("x", -1, 32), b.input("s", 32)
			sum := b.op("Add", "sum", nil, x, s)
			ln := decomposedLayerNorm(t, b, r, sum, "ln", 32)
			b.output(b.op("Add", "out", nil, sum, ln))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 5, 32), "s": randF32(t, r, 32)}
		}, []string{"SkipLayerNormalization", "Add"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "SkipLayerNormalization"); !slices.Equal(n.Outputs, []string{"ln", "", "", "sum"}) {
				t.Fatalf("outputs %v", n.Outputs)
			}
		}},
		{"standard LayerNormalization, axes as input (opset 18)", 18, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 4, 16)
			b.output(b.op("LayerNormalization", "out", attrs("epsilon", attrF(1e-3)), x, b.init("g", randF32(t, r, 16)), b.init("bb", randF32(t, r, 16))))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 4, 16)}
		}, []string{"LayerNormalization"}, func(t *testing.T, g *graph.Graph) {
			if n := node(t, g, "LayerNormalization"); n.Domain != ops.DomainGoCANN || n.Attrs["epsilon"].Float != 1e-3 {
				t.Fatalf("%v %v", n.Domain, n.Attrs)
			}
		}},
		{"mean over another axis stays", 14, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 4, 16)
			m := b.op("ReduceMean", "m", attrs("axes", ints(0)), x)
			b.output(b.op("Sub", "out", nil, x, m))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 4, 16)}
		}, []string{"ReduceMean", "Sub"}, nil},
	})
}

func TestGeluFusion(t *testing.T) {
	c := func(t *testing.T, b *builder, name string, v float32) string { return b.init(name, scalarF(t, v)) }
	runFuseCases(t, []fuseCase{
		{"erf form", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", -1, 8)
			e := b.op("Erf", "e", nil, b.op("Div", "d", nil, x, c(t, b, "sqrt2", 1.4142135)))
			a := b.op("Add", "a", nil, e, c(t, b, "one", 1))
			b.output(b.op("Mul", "out", nil, b.op("Mul", "m", nil, x, a), c(t, b, "half", 0.5)))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 8)}
		}, []string{"Gelu"}, nil},
		{"erf form, half first", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 8)
			e := b.op("Erf", "e", nil, b.op("Mul", "d", nil, c(t, b, "rsqrt2", 0.70710677), x))
			a := b.op("Add", "a", nil, c(t, b, "one", 1), e)
			b.output(b.op("Mul", "out", nil, b.op("Mul", "h", nil, x, c(t, b, "half", 0.5)), a))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 8)}
		}, []string{"Gelu"}, nil},
		{"tanh form as GPT writes it", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 8)
			x3 := b.op("Mul", "x3", nil, x, b.op("Mul", "x2", nil, x, x))
			s := b.op("Add", "s", nil, x, b.op("Mul", "cx3", nil, c(t, b, "k", 0.044715), x3))
			th := b.op("Tanh", "th", nil, b.op("Mul", "u", nil, c(t, b, "c", 0.7978846), s))
			a := b.op("Add", "a", nil, c(t, b, "one", 1), th)
			b.output(b.op("Mul", "out", nil, c(t, b, "half", 0.5), b.op("Mul", "m", nil, x, a)))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 8)}
		}, []string{"FastGelu"}, nil},
		{"tanh form with Pow", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 8)
			x3 := b.op("Pow", "x3", nil, x, c(t, b, "three", 3))
			s := b.op("Add", "s", nil, b.op("Mul", "cx3", nil, x3, c(t, b, "k", 0.044715)), x)
			th := b.op("Tanh", "th", nil, b.op("Mul", "u", nil, s, c(t, b, "c", 0.7978846)))
			a := b.op("Add", "a", nil, th, c(t, b, "one", 1))
			b.output(b.op("Mul", "out", nil, x, b.op("Mul", "m", nil, a, c(t, b, "half", 0.5))))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 8)}
		}, []string{"FastGelu"}, nil},
		// Not a GELU: the element-wise chain fusion takes it instead.
		{"wrong constant is no GELU", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			x := b.input("x", 3, 8)
			e := b.op("Erf", "e", nil, b.op("Div", "d", nil, x, c(t, b, "two", 2)))
			a := b.op("Add", "a", nil, e, c(t, b, "one", 1))
			b.output(b.op("Mul", "out", nil, b.op("Mul", "m", nil, x, a), c(t, b, "half", 0.5)))
			return map[string]*tensor.Tensor{"x": randF32(t, r, 3, 8)}
		}, []string{"ElementwiseChain"}, nil},
	})
}

// attentionGraph writes multi-head attention over [B, S, E] inputs in the
// layout given, with a mask of the kind given ("", "add", "where",
// "causal" for a constant causal mask).
func attentionGraph(t *testing.T, b *builder, r *rand.Rand, layout, mask string, bDim, s, h, d int) map[string]*tensor.Tensor {
	e := h * d
	q, k, v := b.input("q", -1, -1, e), b.input("k", -1, -1, e), b.input("v", -1, -1, e)
	feeds := map[string]*tensor.Tensor{}
	var qh, kt, vh string
	switch layout {
	case "bshd":
		feeds["q"], feeds["k"], feeds["v"] = randF32(t, r, bDim, s, e), randF32(t, r, bDim, s, e), randF32(t, r, bDim, s, e)
		shape := b.init("shape4", i64(t, []int64{0, 0, int64(h), int64(d)}, 4))
		qh = b.op("Transpose", "qh", attrs("perm", ints(0, 2, 1, 3)), b.op("Reshape", "q4", nil, q, shape))
		kt = b.op("Transpose", "kt", attrs("perm", ints(0, 2, 3, 1)), b.op("Reshape", "k4", nil, k, shape))
		vh = b.op("Transpose", "vh", attrs("perm", ints(0, 2, 1, 3)), b.op("Reshape", "v4", nil, v, shape))
	case "merged":
		// [S, B, E] viewed as [S, B·H, d], as nn.MultiheadAttention does.
		feeds["q"], feeds["k"], feeds["v"] = randF32(t, r, s, bDim, e), randF32(t, r, s, bDim, e), randF32(t, r, s, bDim, e)
		shape := b.init("shape3", i64(t, []int64{0, int64(bDim * h), int64(d)}, 3))
		qh = b.op("Transpose", "qh", attrs("perm", ints(1, 0, 2)), b.op("Reshape", "q3", nil, q, shape))
		kt = b.op("Transpose", "kt", attrs("perm", ints(1, 2, 0)), b.op("Reshape", "k3", nil, k, shape))
		vh = b.op("Transpose", "vh", attrs("perm", ints(1, 0, 2)), b.op("Reshape", "v3", nil, v, shape))
	}
	qs := b.op("Div", "qs", nil, qh, b.init("sqrtd", scalarF(t, float32(math.Sqrt(float64(d))))))
	scores := b.op("MatMul", "scores", nil, qs, kt)
	switch mask {
	case "add":
		m := b.input("mask", -1, 1, -1)
		mv := randF32(t, r, bDim*h, 1, s)
		vals, _ := tensor.View[float32](mv)
		vals[1] = float32(math.Inf(-1))
		feeds["mask"] = mv
		scores = b.op("Add", "masked", nil, scores, m)
	case "where", "causal":
		cond := make([]bool, s*s)
		for i := 0; i < s; i++ {
			for j := i + 1; j < s; j++ {
				cond[i*s+j] = true
			}
		}
		ct, err := tensor.FromSlice(cond, s, s)
		if err != nil {
			t.Fatal(err)
		}
		var cv string
		if mask == "causal" {
			cv = b.init("cond", ct)
		} else {
			cv = b.input("cond", -1, -1)
			b.g.Inputs[len(b.g.Inputs)-1].Type.DType = tensor.Bool
			feeds["cond"] = ct
		}
		scores = b.op("Where", "masked", nil, cv, b.init("neginf", scalarF(t, float32(math.Inf(-1)))), scores)
	}
	p := b.op("Softmax", "p", attrs("axis", attrInt(-1)), scores)
	o := b.op("MatMul", "o", nil, p, vh)
	switch layout {
	case "bshd":
		b.output(b.op("Reshape", "out", nil, b.op("Transpose", "ot", attrs("perm", ints(0, 2, 1, 3)), o), b.init("shape3out", i64(t, []int64{0, 0, int64(e)}, 3))))
	case "merged":
		b.output(b.op("Reshape", "out", nil, b.op("Transpose", "ot", attrs("perm", ints(1, 0, 2)), o), b.init("shape3out", i64(t, []int64{0, int64(bDim), int64(e)}, 3))))
	}
	return feeds
}

func TestAttentionFusion(t *testing.T) {
	wantAttr := func(name string, v int64) func(t *testing.T, g *graph.Graph) {
		return func(t *testing.T, g *graph.Graph) {
			if a, ok := node(t, g, "Attention").Attrs[name]; !ok || a.Int != v {
				t.Fatalf("%s = %v, want %d", name, a, v)
			}
		}
	}
	runFuseCases(t, []fuseCase{
		{"heads split, unmasked", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			return attentionGraph(t, b, r, "bshd", "", 2, 7, 2, 4)
		}, []string{"Reshape", "Reshape", "Reshape", "Attention", "Reshape"}, wantAttr("batch_first", 1)},
		{"heads split, Where mask", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			return attentionGraph(t, b, r, "bshd", "where", 2, 6, 2, 4)
		}, []string{"Reshape", "Reshape", "Reshape", "Where", "Attention", "Reshape"}, nil},
		{"heads merged, additive mask", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			return attentionGraph(t, b, r, "merged", "add", 2, 5, 2, 4)
		}, []string{"Reshape", "Reshape", "Reshape", "Attention", "Reshape"}, func(t *testing.T, g *graph.Graph) {
			n := node(t, g, "Attention")
			if n.Attrs["num_heads"].Int != 1 || n.Attrs["batch_first"].Int != 0 || len(n.Inputs) != 4 || math.Abs(float64(n.Attrs["scale"].Float)-0.5) > 1e-7 {
				t.Fatalf("%v %v", n.Inputs, n.Attrs)
			}
		}},
	})
	// A constant causal mask over scores of known shape becomes the flag.
	t.Run("static causal", func(t *testing.T) {
		b := newBuilder()
		r := rand.New(rand.NewPCG(1, 2))
		feeds := attentionGraph(t, b, r, "bshd", "causal", 1, 6, 2, 4)
		m := b.model()
		want := runModel(t, m, feeds)
		b = newBuilder()
		attentionGraph(t, b, rand.New(rand.NewPCG(1, 2)), "bshd", "causal", 1, 6, 2, 4)
		m = b.model()
		shapes := map[string][]int64{"q": {1, 6, 8}, "k": {1, 6, 8}, "v": {1, 6, 8}}
		if _, err := passes.Optimize(m, passes.Options{Level: 2, Ops: registry(t), Shapes: shapes}); err != nil {
			t.Fatal(err)
		}
		n := node(t, m.Graph, "Attention")
		if n.Attrs["causal"].Int != 1 || len(n.Inputs) != 3 {
			t.Fatalf("%v %v", n.Inputs, n.Attrs)
		}
		checkSame(t, runModel(t, m, feeds), want)
	})
	runFuseCases(t, []fuseCase{
		{"softmax over another axis stays", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			q, k := b.input("q", 2, 3, 4), b.input("k", 2, 3, 4)
			s := b.op("MatMul", "s", nil, q, b.op("Transpose", "kt", attrs("perm", ints(0, 2, 1)), k))
			b.output(b.op("MatMul", "out", nil, b.op("Softmax", "p", attrs("axis", attrInt(1)), s), k))
			return map[string]*tensor.Tensor{"q": randF32(t, r, 2, 3, 4), "k": randF32(t, r, 2, 3, 4)}
		}, []string{"Transpose", "MatMul", "Softmax", "MatMul"}, nil},
		{"probabilities read elsewhere stay", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			q, k := b.input("q", 2, 3, 4), b.input("k", 2, 3, 4)
			s := b.op("MatMul", "s", nil, q, b.op("Transpose", "kt", attrs("perm", ints(0, 2, 1)), k))
			p := b.op("Softmax", "p", nil, s)
			b.output(b.op("MatMul", "out", nil, p, k), p)
			return map[string]*tensor.Tensor{"q": randF32(t, r, 2, 3, 4), "k": randF32(t, r, 2, 3, 4)}
		}, []string{"Transpose", "MatMul", "Softmax", "MatMul"}, nil},
		{"heads merged into the batch, no transposes", 0, func(t *testing.T, b *builder, r *rand.Rand) map[string]*tensor.Tensor {
			q, k := b.input("q", 2, 3, 4), b.input("k", 2, 3, 4)
			s := b.op("MatMul", "s", nil, q, b.op("Transpose", "kt", attrs("perm", ints(0, 2, 1)), k))
			b.output(b.op("MatMul", "out", nil, b.op("Softmax", "p", nil, s), k))
			return map[string]*tensor.Tensor{"q": randF32(t, r, 2, 3, 4), "k": randF32(t, r, 2, 3, 4)}
		}, []string{"Attention"}, wantAttr("num_heads", 1)},
	})
}
