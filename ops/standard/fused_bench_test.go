package standard

import (
	"math/rand"
	"runtime"
	"testing"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// BenchmarkFused times each fused operator against its unfused
// composition on the same inputs (kernels only: plans prepared and outputs
// allocated once, as the engine does with its pool). Compare the fused/
// and unfused/ lines of one shape with benchstat.

// fprepared is a composition with its plans and outputs ready.
type fprepared struct {
	steps []fstep
	plans []*ops.Plan
	in    [][]*tensor.Tensor
	out   [][]*tensor.Tensor
}

func fusedPrepare(b *testing.B, reg *ops.Registry, env map[string]*tensor.Tensor, steps []fstep) *fprepared {
	b.Helper()
	p := &fprepared{steps: steps}
	// One run fills env with every intermediate, for the later steps' types.
	if err := fusedEval(b, reg, nil, env, steps...); err != nil {
		b.Fatal(err)
	}
	for _, s := range steps {
		domain, opset := "", s.opset
		if s.fused {
			domain = ops.DomainGoCANN
		}
		if opset == 0 {
			opset = 17
			if s.fused {
				opset = 1
			}
		}
		o, err := reg.Lookup(domain, s.op, opset)
		if err != nil {
			b.Fatal(err)
		}
		types := make([]ops.Type, len(s.in))
		in := make([]*tensor.Tensor, len(s.in))
		for i, name := range s.in {
			if name != "" {
				in[i] = env[name]
				types[i] = ops.TypeOf(in[i])
				for _, vi := range s.values {
					if vi == i {
						types[i].Value = in[i]
					}
				}
			}
		}
		plan, err := ops.PrepareOp(o, &ops.Node{Domain: domain, OpType: s.op, Opset: opset, Attrs: ops.NewAttrs(s.attrs), Inputs: types, NumOutputs: len(s.out)})
		if err != nil {
			b.Fatal(err)
		}
		out := make([]*tensor.Tensor, len(s.out))
		for i, name := range s.out {
			out[i] = env[name]
		}
		p.plans = append(p.plans, plan)
		p.in = append(p.in, in)
		p.out = append(p.out, out)
	}
	return p
}

func (p *fprepared) run(b *testing.B, env *ops.Env) {
	for i, plan := range p.plans {
		if err := plan.Kernel(env, p.in[i], p.out[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFused(b *testing.B) {
	reg, err := NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	w := cpu.NewWorkers(runtime.GOMAXPROCS(0))
	defer w.Close()
	env := &ops.Env{Workers: w}
	rng := rand.New(rand.NewSource(1))
	type bench struct {
		name           string
		vals           map[string]*tensor.Tensor
		fused, unfused []fstep
	}
	var list []bench
	{ // ResNet bottleneck end: 1x1 conv + bias + residual + ReLU.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 1, 64, 56, 56), "W": fRand(rng, 256, 64, 1, 1), "B": fRand(rng, 256), "Z": fRand(rng, 1, 256, 56, 56)}
		list = append(list, bench{"conv1x1_bias_residual_relu", v,
			[]fstep{{op: "FusedConv", fused: true, attrs: actAttrs("Relu", nil), in: []string{"X", "W", "B", "Z"}, out: []string{"Y"}}},
			[]fstep{{op: "Conv", opset: 11, in: []string{"X", "W", "B"}, out: []string{"C"}}, {op: "Add", in: []string{"C", "Z"}, out: []string{"CZ"}}, {op: "Relu", in: []string{"CZ"}, out: []string{"Y"}}}})
	}
	{ // MobileNet: 3x3 conv + bias + ReLU6.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 1, 32, 56, 56), "W": fRand(rng, 64, 32, 3, 3), "B": fRand(rng, 64), "lo": fScalar(0), "hi": fScalar(6)}
		pads := nnAttrs{"pads": nnIs(1, 1, 1, 1)}
		fa := actAttrs("Clip", []float32{0, 6})
		fa["pads"] = pads["pads"]
		list = append(list, bench{"conv3x3_bias_relu6", v,
			[]fstep{{op: "FusedConv", fused: true, attrs: fa, in: []string{"X", "W", "B"}, out: []string{"Y"}}},
			[]fstep{{op: "Conv", opset: 11, attrs: pads, in: []string{"X", "W", "B"}, out: []string{"C"}}, {op: "Clip", opset: 13, in: []string{"C", "lo", "hi"}, out: []string{"Y"}}}})
	}
	{ // EfficientNet: depthwise 3x3 + bias + SiLU.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 1, 96, 56, 56), "W": fRand(rng, 96, 1, 3, 3), "B": fRand(rng, 96)}
		at := nnAttrs{"pads": nnIs(1, 1, 1, 1), "group": nnI(96)}
		fa := actAttrs("SiLU", nil)
		for k, x := range at {
			fa[k] = x
		}
		list = append(list, bench{"depthwise3x3_bias_silu", v,
			[]fstep{{op: "FusedConv", fused: true, attrs: fa, in: []string{"X", "W", "B"}, out: []string{"Y"}}},
			append([]fstep{{op: "Conv", opset: 11, attrs: at, in: []string{"X", "W", "B"}, out: []string{"C"}}}, actSteps(v, "SiLU", nil, "C", "Y")...)})
	}
	{ // BERT feed-forward: MatMul + bias + GELU.
		v := map[string]*tensor.Tensor{"A": fRand(rng, 128, 256), "B": fRand(rng, 256, 1024), "Bias": fRand(rng, 1024)}
		list = append(list, bench{"matmul_bias_gelu", v,
			[]fstep{{op: "FusedMatMul", fused: true, attrs: actAttrs("Gelu", nil), in: []string{"A", "B", "Bias"}, out: []string{"Y"}}},
			append([]fstep{{op: "MatMul", in: []string{"A", "B"}, out: []string{"P"}}, {op: "Add", in: []string{"P", "Bias"}, out: []string{"PB"}}}, actSteps(v, "Gelu", nil, "PB", "Y")...)})
	}
	{ // Residual + LayerNorm.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 1, 128, 256), "S": fRand(rng, 1, 128, 256), "G": fRand(rng, 256), "Bt": fRand(rng, 256)}
		list = append(list, bench{"skip_layernorm", v,
			[]fstep{{op: "SkipLayerNormalization", fused: true, in: []string{"X", "S", "G", "Bt"}, out: []string{"Y"}}},
			append([]fstep{{op: "Add", in: []string{"X", "S"}, out: []string{"XS"}}}, layerNormSteps(v, "XS", "G", "Bt", "Y", 1e-5)...)})
	}
	{ // GPT MLP activation, tanh GELU as exported.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 128, 1024)}
		list = append(list, bench{"fastgelu", v,
			[]fstep{{op: "FastGelu", fused: true, in: []string{"X"}, out: []string{"Y"}}},
			actSteps(v, "GeluTanh", nil, "X", "Y")})
	}
	{ // Attention, 4 heads of 64, 128 tokens, causal.
		v := map[string]*tensor.Tensor{"Q": fRand(rng, 1, 128, 256), "K": fRand(rng, 1, 128, 256), "V": fRand(rng, 1, 128, 256)}
		list = append(list, bench{"attention_causal", v,
			[]fstep{{op: "Attention", fused: true, attrs: nnAttrs{"num_heads": nnI(4), "causal": nnI(1)}, in: []string{"Q", "K", "V"}, out: []string{"Y"}}},
			attentionSteps(v, 1, 128, 128, 4, 64, 64, 0.125, false, true, "")})
	}
	{ // An element-wise chain: (x·1.5 - z) → Tanh → Abs → Sqrt → + z, 1M floats.
		v := map[string]*tensor.Tensor{"X": fRand(rng, 1024, 1024), "Z": fRand(rng, 1024, 1024), "k": fScalar(1.5)}
		list = append(list, bench{"elementwise_chain6", v,
			[]fstep{{op: "ElementwiseChain", fused: true, attrs: nnAttrs{"ops": nnSs("Mul", "Sub", "Tanh", "Abs", "Sqrt", "Add"), "operands": nnIs(2, 1, -1, -1, -1, 1), "swap": nnIs(0, 0, 0, 0, 0, 0)}, in: []string{"X", "Z", "k"}, out: []string{"Y"}}},
			[]fstep{{op: "Mul", in: []string{"X", "k"}, out: []string{"m"}}, {op: "Sub", in: []string{"m", "Z"}, out: []string{"s"}}, {op: "Tanh", in: []string{"s"}, out: []string{"t"}},
				{op: "Abs", in: []string{"t"}, out: []string{"a"}}, {op: "Sqrt", in: []string{"a"}, out: []string{"q"}}, {op: "Add", in: []string{"q", "Z"}, out: []string{"Y"}}}})
	}
	for _, bc := range list {
		for _, variant := range []string{"fused", "unfused"} {
			steps := bc.fused
			if variant == "unfused" {
				steps = bc.unfused
			}
			vals := map[string]*tensor.Tensor{}
			for k, x := range bc.vals {
				vals[k] = x
			}
			p := fusedPrepare(b, reg, vals, steps)
			b.Run(bc.name+"/"+variant, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					p.run(b, env)
				}
			})
		}
	}
}
