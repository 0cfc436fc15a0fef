package standard

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/gocann/gocann/kernels"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// The fused operators are checked against their unfused compositions of
// standard ONNX operators: both run through the registry on random data
// and must agree within rtol 1e-4, atol 1e-5.

// fstep is one node of a composition: op (domain com.gocann when fused)
// reading and writing named values.
type fstep struct {
	op     string
	fused  bool
	opset  int
	attrs  nnAttrs
	in     []string // "" for an omitted optional input
	out    []string
	values []int // inputs whose contents Prepare needs
}

// fusedEval runs steps in order over the values in env, adding their
// outputs to env.
func fusedEval(t testing.TB, reg *ops.Registry, w *cpu.Workers, env map[string]*tensor.Tensor, steps ...fstep) error {
	t.Helper()
	for _, s := range steps {
		domain := ""
		if s.fused {
			domain = ops.DomainGoCANN
		}
		opset := s.opset
		if opset == 0 {
			opset = 17
			if s.fused {
				opset = 1
			}
		}
		o, err := reg.Lookup(domain, s.op, opset)
		if err != nil {
			t.Fatal(err)
		}
		types := make([]ops.Type, len(s.in))
		in := make([]*tensor.Tensor, len(s.in))
		for i, name := range s.in {
			if name == "" {
				continue
			}
			x, ok := env[name]
			if !ok {
				t.Fatalf("%s: no value %q", s.op, name)
			}
			in[i] = x
			types[i] = ops.TypeOf(x)
			for _, vi := range s.values {
				if vi == i {
					types[i].Value = x
				}
			}
		}
		plan, err := ops.PrepareOp(o, &ops.Node{Domain: domain, OpType: s.op, Opset: opset, Attrs: ops.NewAttrs(s.attrs), Inputs: types, NumOutputs: len(s.out)})
		if err != nil {
			return err
		}
		out := make([]*tensor.Tensor, len(s.out))
		for i, ot := range plan.Outputs {
			if ot.Static() {
				// Stale contents, as the engine's pool gives them.
				out[i], _ = tensor.New(ot.DType, ot.Shape)
				if v, err := tensor.View[float32](out[i]); err == nil && plan.Overwrites {
					for j := range v {
						v[j] = float32(math.NaN())
					}
				}
			}
		}
		if err := plan.Kernel(&ops.Env{Workers: w}, in, out); err != nil {
			return err
		}
		for i, name := range s.out {
			env[name] = out[i]
		}
	}
	return nil
}

// fusedCompare runs the fused steps and the composition on copies of env
// and compares the named outputs.
func fusedCompare(t *testing.T, env map[string]*tensor.Tensor, fused, composed []fstep, outputs ...string) {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	w := cpu.NewWorkers(2)
	defer w.Close()
	e1, e2 := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for k, v := range env {
		e1[k], e2[k] = v, v
	}
	if err := fusedEval(t, reg, w, e1, fused...); err != nil {
		t.Fatalf("fused: %v", err)
	}
	if err := fusedEval(t, reg, w, e2, composed...); err != nil {
		t.Fatalf("composition: %v", err)
	}
	for _, name := range outputs {
		got, want := e1[name], e2[name]
		if !got.Shape().Equal(want.Shape()) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
		}
		g, err := tensor.ToSlice[float32](got)
		if err != nil {
			t.Fatal(err)
		}
		wv, err := tensor.ToSlice[float32](want)
		if err != nil {
			t.Fatal(err)
		}
		for i := range g {
			if d := math.Abs(float64(g[i] - wv[i])); !(d <= 1e-5+1e-4*math.Abs(float64(wv[i]))) && !(g[i] != g[i] && wv[i] != wv[i]) {
				t.Fatalf("%s[%d] = %g, want %g", name, i, g[i], wv[i])
			}
		}
	}
}

func fRand(rng *rand.Rand, shape ...int) *tensor.Tensor { return nnRandT(rng, shape...) }

func fScalar(v float32) *tensor.Tensor {
	x, _ := tensor.FromSlice([]float32{v})
	return x
}

func fInts(v ...int64) *tensor.Tensor {
	x, _ := tensor.FromSlice(v, len(v))
	return x
}

// actSteps is the standard composition of an activation from x to y, with
// the constants it needs added to env.
func actSteps(env map[string]*tensor.Tensor, act string, params []float32, x, y string) []fstep {
	c := func(name string, v float32) string {
		env[name] = fScalar(v)
		return name
	}
	switch act {
	case "":
		return []fstep{{op: "Identity", in: []string{x}, out: []string{y}}}
	case "Relu", "Sigmoid", "Tanh", "HardSwish":
		return []fstep{{op: act, in: []string{x}, out: []string{y}}}
	case "Clip":
		return []fstep{{op: "Clip", opset: 13, in: []string{x, c("clip_lo", params[0]), c("clip_hi", params[1])}, out: []string{y}}}
	case "LeakyRelu":
		return []fstep{{op: act, attrs: nnAttrs{"alpha": nnF(params[0])}, in: []string{x}, out: []string{y}}}
	case "HardSigmoid":
		return []fstep{{op: act, attrs: nnAttrs{"alpha": nnF(params[0]), "beta": nnF(params[1])}, in: []string{x}, out: []string{y}}}
	case "SiLU":
		return []fstep{
			{op: "Sigmoid", in: []string{x}, out: []string{y + "_sig"}},
			{op: "Mul", in: []string{x, y + "_sig"}, out: []string{y}},
		}
	case "Gelu":
		return []fstep{
			{op: "Div", in: []string{x, c("sqrt2", math.Sqrt2)}, out: []string{y + "_d"}},
			{op: "Erf", in: []string{y + "_d"}, out: []string{y + "_e"}},
			{op: "Add", in: []string{y + "_e", c("one", 1)}, out: []string{y + "_a"}},
			{op: "Mul", in: []string{x, y + "_a"}, out: []string{y + "_m"}},
			{op: "Mul", in: []string{y + "_m", c("half", 0.5)}, out: []string{y}},
		}
	case "GeluTanh":
		return []fstep{{op: "Gelu", opset: 20, attrs: nnAttrs{"approximate": nnS("tanh")}, in: []string{x}, out: []string{y}}}
	}
	panic("no composition for " + act)
}

func actAttrs(act string, params []float32) nnAttrs {
	a := nnAttrs{"activation": nnS(act)}
	if params != nil {
		a["activation_params"] = ops.Attr{Type: ops.AttrFloats, Floats: params}
	}
	return a
}

var fusedActs = []struct {
	name   string
	params []float32
}{
	{"", nil}, {"Relu", nil}, {"Clip", []float32{0, 6}}, {"Clip", []float32{-0.3, 0.4}}, {"LeakyRelu", []float32{0.1}},
	{"Sigmoid", nil}, {"Tanh", nil}, {"HardSigmoid", []float32{0.2, 0.5}}, {"HardSwish", nil},
	{"SiLU", nil}, {"Gelu", nil}, {"GeluTanh", nil},
}

func TestFusedConv(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	type conv struct {
		name     string
		x, w     []int
		attrs    nnAttrs
		bias, z  bool
		actIndex int   // into fusedActs; -1: every activation
		zShape   []int // Z's shape when it broadcasts (nil: Y's)
	}
	cases := []conv{
		{"1x1", []int{1, 8, 5, 6}, []int{12, 8, 1, 1}, nil, true, true, -1, nil},
		{"3x3 pad", []int{2, 4, 7, 7}, []int{6, 4, 3, 3}, nnAttrs{"pads": nnIs(1, 1, 1, 1)}, false, false, -1, nil},
		{"3x3 strided dilated grouped", []int{1, 6, 11, 9}, []int{4, 3, 3, 3}, nnAttrs{"strides": nnIs(2, 1), "dilations": nnIs(2, 2), "group": nnI(2), "pads": nnIs(2, 1, 0, 2)}, true, true, -1, nil},
		{"depthwise strided", []int{2, 5, 9, 10}, []int{5, 1, 3, 3}, nnAttrs{"group": nnI(5), "strides": nnIs(2, 2), "pads": nnIs(1, 1, 1, 1)}, true, true, -1, nil},
		{"depthwise multiplier dilated", []int{1, 3, 12, 12}, []int{6, 1, 5, 5}, nnAttrs{"group": nnI(3), "dilations": nnIs(2, 1), "auto_pad": nnS("SAME_UPPER")}, false, true, 9, nil},
		{"1-D same", []int{2, 3, 17}, []int{5, 3, 4}, nnAttrs{"auto_pad": nnS("SAME_LOWER")}, true, false, 10, nil},
		{"3-D", []int{1, 2, 4, 5, 6}, []int{3, 2, 2, 3, 2}, nnAttrs{"pads": nnIs(1, 0, 1, 0, 1, 1)}, true, true, 11, nil},
		{"large 1x1", []int{1, 64, 20, 20}, []int{96, 64, 1, 1}, nil, true, true, 2, nil},
		{"large 3x3", []int{1, 16, 30, 30}, []int{32, 16, 3, 3}, nnAttrs{"pads": nnIs(1, 1, 1, 1)}, true, true, 9, nil},
		{"Z per channel", []int{2, 8, 5, 6}, []int{12, 8, 1, 1}, nil, true, true, 1, []int{12, 1, 1}},
		{"Z larger", []int{1, 4, 5, 5}, []int{6, 4, 3, 3}, nnAttrs{"pads": nnIs(1, 1, 1, 1)}, true, true, 9, []int{3, 6, 5, 5}},
		{"depthwise Z broadcast", []int{1, 4, 6, 6}, []int{4, 1, 3, 3}, nnAttrs{"group": nnI(4)}, true, true, 2, []int{4, 4}},
	}
	for _, c := range cases {
		idx := []int{c.actIndex}
		if c.actIndex < 0 {
			idx = idx[:0]
			for i := range fusedActs {
				idx = append(idx, i)
			}
		}
		for _, ai := range idx {
			a := fusedActs[ai]
			t.Run(fmt.Sprintf("%s/%s%v", c.name, a.name, a.params), func(t *testing.T) {
				env := map[string]*tensor.Tensor{"X": fRand(rng, c.x...), "W": fRand(rng, c.w...)}
				attrs := actAttrs(a.name, a.params)
				for k, v := range c.attrs {
					attrs[k] = v
				}
				fin := []string{"X", "W", "", ""}
				cin := []string{"X", "W"}
				if c.bias {
					env["B"] = fRand(rng, c.w[0])
					fin[2] = "B"
					cin = append(cin, "B")
				}
				composed := []fstep{{op: "Conv", opset: 11, attrs: c.attrs, in: cin, out: []string{"C"}}}
				pre := "C"
				if c.z {
					// Z has Y's shape: take it from a first run of Conv.
					tmp := map[string]*tensor.Tensor{}
					for k, v := range env {
						tmp[k] = v
					}
					reg, _ := NewRegistry()
					if err := fusedEval(t, reg, nil, tmp, composed...); err != nil {
						t.Fatal(err)
					}
					zs := []int(tmp["C"].Shape())
					if c.zShape != nil {
						zs = c.zShape
					}
					env["Z"] = fRand(rng, zs...)
					fin[3] = "Z"
					composed = append(composed, fstep{op: "Add", in: []string{"C", "Z"}, out: []string{"CZ"}})
					pre = "CZ"
				}
				composed = append(composed, actSteps(env, a.name, a.params, pre, "Y")...)
				fused := []fstep{{op: "FusedConv", fused: true, attrs: attrs, in: fin, out: []string{"Y"}}}
				fusedCompare(t, env, fused, composed, "Y")
			})
		}
	}
}

func TestFusedMatMul(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	cases := []struct {
		name           string
		a, b           []int
		transA, transB bool
		alpha          float32
		bias, z        bool
		act            int
		zShape         []int
	}{
		{"2-D", []int{7, 9}, []int{9, 11}, false, false, 1, true, true, -1, nil},
		{"batched shared B", []int{2, 3, 5, 8}, []int{8, 6}, false, false, 1, true, false, 10, nil},
		{"broadcast batch", []int{2, 1, 5, 8}, []int{3, 8, 6}, false, false, 0.5, false, true, 11, nil},
		{"rank-1 A", []int{8}, []int{2, 8, 5}, false, false, 1, true, false, 1, nil},
		{"rank-1 B", []int{3, 4, 8}, []int{8}, false, false, 1, false, false, 5, nil},
		{"transposes", []int{2, 8, 5}, []int{2, 6, 8}, true, true, 2, true, true, 9, nil},
		{"transA shared B", []int{3, 8, 5}, []int{8, 6}, true, false, 1, true, false, 2, nil},
		{"large", []int{64, 256}, []int{300, 256}, false, true, 1, true, true, 10, nil},
		{"Z broadcast", []int{2, 5, 8}, []int{8, 6}, false, false, 1, true, true, 9, []int{5, 1}},
		{"Z larger", []int{5, 8}, []int{8, 6}, false, false, 1, false, true, 11, []int{3, 5, 6}},
	}
	for _, c := range cases {
		idx := []int{c.act}
		if c.act < 0 {
			idx = idx[:0]
			for i := range fusedActs {
				idx = append(idx, i)
			}
		}
		for _, ai := range idx {
			a := fusedActs[ai]
			t.Run(fmt.Sprintf("%s/%s", c.name, a.name), func(t *testing.T) {
				env := map[string]*tensor.Tensor{"A": fRand(rng, c.a...), "B": fRand(rng, c.b...), "alpha": fScalar(c.alpha)}
				attrs := actAttrs(a.name, a.params)
				attrs["alpha"] = nnF(c.alpha)
				var composed []fstep
				an, bn := "A", "B"
				perm := func(r int) ops.Attr {
					p := make([]int64, r)
					for i := range p {
						p[i] = int64(i)
					}
					p[r-1], p[r-2] = p[r-2], p[r-1]
					return nnIs(p...)
				}
				if c.transA {
					attrs["transA"] = nnI(1)
					composed = append(composed, fstep{op: "Transpose", attrs: nnAttrs{"perm": perm(len(c.a))}, in: []string{"A"}, out: []string{"At"}})
					an = "At"
				}
				if c.transB {
					attrs["transB"] = nnI(1)
					composed = append(composed, fstep{op: "Transpose", attrs: nnAttrs{"perm": perm(len(c.b))}, in: []string{"B"}, out: []string{"Bt"}})
					bn = "Bt"
				}
				composed = append(composed,
					fstep{op: "MatMul", in: []string{an, bn}, out: []string{"P"}},
					fstep{op: "Mul", in: []string{"P", "alpha"}, out: []string{"S"}})
				reg, _ := NewRegistry()
				tmp := map[string]*tensor.Tensor{}
				for k, v := range env {
					tmp[k] = v
				}
				if err := fusedEval(t, reg, nil, tmp, composed...); err != nil {
					t.Fatal(err)
				}
				ys := tmp["S"].Shape()
				fin := []string{"A", "B", "", ""}
				pre := "S"
				if c.bias {
					env["Bias"] = fRand(rng, ys[len(ys)-1])
					fin[2] = "Bias"
					composed = append(composed, fstep{op: "Add", in: []string{pre, "Bias"}, out: []string{"SB"}})
					pre = "SB"
				}
				if c.z {
					zs := []int(ys)
					if c.zShape != nil {
						zs = c.zShape
					}
					env["Z"] = fRand(rng, zs...)
					fin[3] = "Z"
					composed = append(composed, fstep{op: "Add", in: []string{pre, "Z"}, out: []string{"SZ"}})
					pre = "SZ"
				}
				composed = append(composed, actSteps(env, a.name, a.params, pre, "Y")...)
				fusedCompare(t, env, []fstep{{op: "FusedMatMul", fused: true, attrs: attrs, in: fin, out: []string{"Y"}}}, composed, "Y")
			})
		}
	}
}

func TestFusedGemm(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, c := range []struct {
		name           string
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		c              []int // nil: no C
		z              bool
		act            int
	}{
		{"col bias", 9, 13, 17, false, true, 1, 1, []int{13}, true, 1},
		{"row bias", 9, 13, 17, true, false, 0.5, 2, []int{9, 1}, false, 10},
		{"scalar C", 4, 40, 3, false, false, 1, -1, []int{1}, true, 9},
		{"full C", 20, 30, 40, true, true, 1, 1, []int{20, 30}, false, 3},
		{"full C and Z", 20, 30, 40, false, false, 1, 0.5, []int{20, 30}, true, 11},
		{"no C", 1, 50, 64, false, true, 1, 1, nil, true, 2},
		{"column vector", 33, 1, 16, false, false, 1, 1, []int{1, 1}, false, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			as, bs := []int{c.m, c.k}, []int{c.k, c.n}
			if c.transA {
				as = []int{c.k, c.m}
			}
			if c.transB {
				bs = []int{c.n, c.k}
			}
			env := map[string]*tensor.Tensor{"A": fRand(rng, as...), "B": fRand(rng, bs...)}
			a := fusedActs[c.act]
			gattrs := nnAttrs{"alpha": nnF(c.alpha), "beta": nnF(c.beta), "transA": nnI(b2i(c.transA)), "transB": nnI(b2i(c.transB))}
			attrs := actAttrs(a.name, a.params)
			for k, v := range gattrs {
				attrs[k] = v
			}
			fin := []string{"A", "B", "", ""}
			gin := []string{"A", "B"}
			if c.c != nil {
				env["C"] = fRand(rng, c.c...)
				fin[2] = "C"
				gin = append(gin, "C")
			}
			composed := []fstep{{op: "Gemm", opset: 13, attrs: gattrs, in: gin, out: []string{"G"}}}
			pre := "G"
			if c.z {
				env["Z"] = fRand(rng, c.m, c.n)
				fin[3] = "Z"
				composed = append(composed, fstep{op: "Add", in: []string{"G", "Z"}, out: []string{"GZ"}})
				pre = "GZ"
			}
			composed = append(composed, actSteps(env, a.name, a.params, pre, "Y")...)
			fusedCompare(t, env, []fstep{{op: "FusedGemm", fused: true, attrs: attrs, in: fin, out: []string{"Y"}}}, composed, "Y")
		})
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// layerNormSteps is the decomposed LayerNorm over the last axis that
// exporters emit for opsets before 17.
func layerNormSteps(env map[string]*tensor.Tensor, x, gamma, beta, y string, eps float32) []fstep {
	env["ln_two"], env["ln_eps"] = fScalar(2), fScalar(eps)
	return []fstep{
		{op: "ReduceMean", opset: 13, attrs: nnAttrs{"axes": nnIs(-1)}, in: []string{x}, out: []string{y + "_mean"}},
		{op: "Sub", in: []string{x, y + "_mean"}, out: []string{y + "_d"}},
		{op: "Pow", in: []string{y + "_d", "ln_two"}, out: []string{y + "_sq"}},
		{op: "ReduceMean", opset: 13, attrs: nnAttrs{"axes": nnIs(-1)}, in: []string{y + "_sq"}, out: []string{y + "_var"}},
		{op: "Add", in: []string{y + "_var", "ln_eps"}, out: []string{y + "_ve"}},
		{op: "Sqrt", in: []string{y + "_ve"}, out: []string{y + "_std"}},
		{op: "Div", in: []string{y + "_d", y + "_std"}, out: []string{y + "_n"}},
		{op: "Mul", in: []string{y + "_n", gamma}, out: []string{y + "_g"}},
		{op: "Add", in: []string{y + "_g", beta}, out: []string{y}},
	}
}

func TestFusedLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, c := range []struct {
		x     []int
		axis  int64
		stats bool
	}{
		{[]int{3, 7, 32}, -1, true}, {[]int{2, 5, 6}, 1, true}, {[]int{4, 300}, -1, false}, {[]int{2, 3, 1}, -1, true},
	} {
		t.Run(fmt.Sprint(c.x, c.axis), func(t *testing.T) {
			x := fRand(rng, c.x...)
			// An offset, so that cancellation would show.
			xv, _ := tensor.View[float32](x)
			for i := range xv {
				xv[i] += 50
			}
			inner := c.x[(int(c.axis)+len(c.x))%len(c.x):]
			env := map[string]*tensor.Tensor{"X": x, "G": fRand(rng, inner...), "Bt": fRand(rng, inner...)}
			attrs := nnAttrs{"axis": nnI(c.axis), "epsilon": nnF(1e-5)}
			outs := []string{"Y"}
			if c.stats {
				outs = []string{"Y", "M", "I"}
			}
			std := []fstep{{op: "LayerNormalization", opset: 17, attrs: attrs, in: []string{"X", "G", "Bt"}, out: outs}}
			fusedCompare(t, env, []fstep{{op: "LayerNormalization", fused: true, attrs: attrs, in: []string{"X", "G", "Bt"}, out: outs}}, std, outs...)
			if c.axis == -1 {
				fusedCompare(t, env, []fstep{{op: "LayerNormalization", fused: true, attrs: attrs, in: []string{"X", "G", "Bt"}, out: []string{"Y"}}},
					layerNormSteps(env, "X", "G", "Bt", "Y", 1e-5), "Y")
			}
		})
	}
	// No bias, float64 through the standard kernel.
	x64, _ := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 7}, 2, 3)
	s64, _ := tensor.FromSlice([]float64{1, 1, 2}, 3)
	out, err := nnRunDomain(t, ops.DomainGoCANN, "LayerNormalization", 1, nil, 1, x64, s64)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tensor.ToSlice[float64](out[0]); math.Abs(got[2]-2*1.224744871391589) > 1e-4 {
		t.Fatalf("float64 layer norm: %v", got)
	}
}

func TestSkipLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, c := range []struct {
		x, skip    []int
		beta, bias bool
		nout       int
	}{
		{[]int{2, 5, 16}, []int{2, 5, 16}, true, true, 4},
		{[]int{2, 5, 16}, []int{5, 16}, true, false, 1},
		{[]int{3, 4, 20}, []int{1, 4, 20}, false, true, 2},
		{[]int{7, 256}, []int{7, 256}, true, true, 3},
		{[]int{5, 16}, []int{2, 5, 16}, true, false, 4},
		{[]int{2, 3, 4}, []int{2, 1, 4}, true, true, 2},
		{[]int{2, 1, 4}, []int{3, 1}, false, false, 1},
	} {
		t.Run(fmt.Sprint(c.x, c.skip, c.beta, c.bias, c.nout), func(t *testing.T) {
			h := max(c.x[len(c.x)-1], c.skip[len(c.skip)-1])
			env := map[string]*tensor.Tensor{"X": fRand(rng, c.x...), "S": fRand(rng, c.skip...), "G": fRand(rng, h), "Bt": fRand(rng, h), "Bi": fRand(rng, h)}
			fin := []string{"X", "S", "G", "", ""}
			composed := []fstep{{op: "Add", in: []string{"X", "S"}, out: []string{"XS"}}}
			sum := "XS"
			if c.bias {
				fin[4] = "Bi"
				composed = append(composed, fstep{op: "Add", in: []string{"XS", "Bi"}, out: []string{"XSB"}})
				sum = "XSB"
			}
			lnIn := []string{sum, "G"}
			if c.beta {
				fin[3] = "Bt"
				lnIn = append(lnIn, "Bt")
			}
			outs := []string{"Y", "M", "I", "Sum"}[:c.nout]
			lnOut := []string{"Y", "M", "I"}[:min(c.nout, 3)]
			composed = append(composed, fstep{op: "LayerNormalization", opset: 17, attrs: nnAttrs{"epsilon": nnF(1e-6)}, in: lnIn, out: lnOut})
			if c.nout == 4 {
				composed = append(composed, fstep{op: "Identity", in: []string{sum}, out: []string{"Sum"}})
			}
			fusedCompare(t, env, []fstep{{op: "SkipLayerNormalization", fused: true, attrs: nnAttrs{"epsilon": nnF(1e-6)}, in: fin, out: outs}}, composed, outs...)
		})
	}
}

func TestFusedGelu(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	x := fRand(rng, 3, 5, 37)
	xv, _ := tensor.View[float32](x)
	for i := range xv {
		xv[i] *= 6
	}
	env := map[string]*tensor.Tensor{"X": x, "Bias": fRand(rng, 37)}
	fusedCompare(t, env, []fstep{{op: "Gelu", fused: true, in: []string{"X"}, out: []string{"Y"}}}, actSteps(env, "Gelu", nil, "X", "Y"), "Y")
	fusedCompare(t, env, []fstep{{op: "FastGelu", fused: true, in: []string{"X"}, out: []string{"Y"}}}, actSteps(env, "GeluTanh", nil, "X", "Y"), "Y")
	withBias := func(act string) []fstep {
		return append([]fstep{{op: "Add", in: []string{"X", "Bias"}, out: []string{"XB"}}}, actSteps(env, act, nil, "XB", "Y")...)
	}
	fusedCompare(t, env, []fstep{{op: "FastGelu", fused: true, in: []string{"X", "Bias"}, out: []string{"Y"}}}, withBias("GeluTanh"), "Y")
	fusedCompare(t, env, []fstep{{op: "BiasGelu", fused: true, in: []string{"X", "Bias"}, out: []string{"Y"}}}, withBias("Gelu"), "Y")
	// The tanh form as gpt-style models spell it.
	env["c044"], env["csq"], env["c1"], env["c05"] = fScalar(0.044715), fScalar(float32(math.Sqrt(2/math.Pi))), fScalar(1), fScalar(0.5)
	tanhForm := []fstep{
		{op: "Mul", in: []string{"X", "X"}, out: []string{"x2"}},
		{op: "Mul", in: []string{"X", "x2"}, out: []string{"x3"}},
		{op: "Mul", in: []string{"c044", "x3"}, out: []string{"t1"}},
		{op: "Add", in: []string{"X", "t1"}, out: []string{"t2"}},
		{op: "Mul", in: []string{"csq", "t2"}, out: []string{"t3"}},
		{op: "Tanh", in: []string{"t3"}, out: []string{"t4"}},
		{op: "Add", in: []string{"c1", "t4"}, out: []string{"t5"}},
		{op: "Mul", in: []string{"X", "t5"}, out: []string{"t6"}},
		{op: "Mul", in: []string{"c05", "t6"}, out: []string{"Y"}},
	}
	fusedCompare(t, env, []fstep{{op: "FastGelu", fused: true, in: []string{"X"}, out: []string{"Y"}}}, tanhForm, "Y")
}

// attentionSteps is the unfused attention of a [B, S, E] layout (seq-first
// inputs are transposed first), as exporters write it.
func attentionSteps(env map[string]*tensor.Tensor, b, sq, sk, h, d, dv int, scale float32, seqFirst, causal bool, mask string) []fstep {
	env["shq"] = fInts(int64(b), int64(sq), int64(h), int64(d))
	env["shk"] = fInts(int64(b), int64(sk), int64(h), int64(d))
	env["shv"] = fInts(int64(b), int64(sk), int64(h), int64(dv))
	env["shy"] = fInts(int64(b), int64(sq), int64(h*dv))
	env["scale"] = fScalar(scale)
	var s []fstep
	q, k, v := "Q", "K", "V"
	if seqFirst {
		for _, n := range []string{"Q", "K", "V"} {
			s = append(s, fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(1, 0, 2)}, in: []string{n}, out: []string{n + "b"}})
		}
		q, k, v = "Qb", "Kb", "Vb"
	}
	s = append(s,
		fstep{op: "Reshape", opset: 14, in: []string{q, "shq"}, out: []string{"q4"}, values: []int{1}},
		fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(0, 2, 1, 3)}, in: []string{"q4"}, out: []string{"qh"}},
		fstep{op: "Reshape", opset: 14, in: []string{k, "shk"}, out: []string{"k4"}, values: []int{1}},
		fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(0, 2, 3, 1)}, in: []string{"k4"}, out: []string{"kt"}},
		fstep{op: "Reshape", opset: 14, in: []string{v, "shv"}, out: []string{"v4"}, values: []int{1}},
		fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(0, 2, 1, 3)}, in: []string{"v4"}, out: []string{"vh"}},
		fstep{op: "MatMul", in: []string{"qh", "kt"}, out: []string{"qk"}},
		fstep{op: "Mul", in: []string{"qk", "scale"}, out: []string{"sc"}},
	)
	scores := "sc"
	if mask != "" {
		s = append(s, fstep{op: "Add", in: []string{scores, mask}, out: []string{"scm"}})
		scores = "scm"
	}
	if causal {
		cm := make([]float32, sq*sk)
		for i := 0; i < sq; i++ {
			for j := i + 1; j < sk; j++ {
				cm[i*sk+j] = float32(math.Inf(-1))
			}
		}
		env["causal"], _ = tensor.FromSlice(cm, sq, sk)
		s = append(s, fstep{op: "Add", in: []string{scores, "causal"}, out: []string{"scc"}})
		scores = "scc"
	}
	s = append(s,
		fstep{op: "Softmax", opset: 13, in: []string{scores}, out: []string{"p"}},
		fstep{op: "MatMul", in: []string{"p", "vh"}, out: []string{"o"}},
		fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(0, 2, 1, 3)}, in: []string{"o"}, out: []string{"ot"}},
		fstep{op: "Reshape", opset: 14, in: []string{"ot", "shy"}, out: []string{"Yb"}, values: []int{1}},
	)
	if seqFirst {
		s = append(s, fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(1, 0, 2)}, in: []string{"Yb"}, out: []string{"Y"}})
	} else {
		s = append(s, fstep{op: "Identity", in: []string{"Yb"}, out: []string{"Y"}})
	}
	return s
}

func TestFusedAttention(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, c := range []struct {
		b, sq, sk, h, d, dv int
		seqFirst, causal    bool
		mask                []int // composition mask shape ([B,H,Sq,Sk]-broadcastable)
		merged              bool  // fused op gets the mask as [B*H, Sq|1, Sk]
		scale               float32
		split               bool // fused op gets [., ., H, d] tensors
	}{
		{1, 8, 8, 2, 4, 4, false, false, nil, false, 0, false},
		{2, 16, 16, 4, 8, 8, false, true, nil, false, 0, false},
		{2, 7, 9, 3, 5, 6, false, false, []int{2, 1, 1, 9}, false, 0.3, false},
		{2, 7, 9, 3, 5, 5, false, false, []int{3, 7, 9}, false, 0, false},
		{3, 10, 10, 2, 8, 8, true, false, []int{3, 2, 1, 10}, true, 0.125, false},
		{2, 12, 12, 4, 16, 16, true, true, []int{2, 1, 12, 12}, false, 0, false},
		{1, 65, 65, 4, 64, 64, false, true, nil, false, 0, false},
		{2, 5, 5, 2, 4, 4, false, false, []int{2, 2, 5, 1}, false, 0, false},
		{2, 6, 6, 4, 8, 8, false, true, nil, false, 0, true},
		{3, 5, 7, 2, 4, 6, true, false, []int{3, 1, 1, 7}, false, 0.5, true},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			shape := func(s, hidden int) []int {
				if c.seqFirst {
					return []int{s, c.b, hidden}
				}
				return []int{c.b, s, hidden}
			}
			env := map[string]*tensor.Tensor{"Q": fRand(rng, shape(c.sq, c.h*c.d)...), "K": fRand(rng, shape(c.sk, c.h*c.d)...), "V": fRand(rng, shape(c.sk, c.h*c.dv)...)}
			attrs := nnAttrs{"num_heads": nnI(int64(c.h)), "causal": nnI(b2i(c.causal)), "batch_first": nnI(1 - b2i(c.seqFirst))}
			scale := c.scale
			if scale == 0 {
				scale = float32(1 / math.Sqrt(float64(c.d)))
			} else {
				attrs["scale"] = nnF(scale)
			}
			fin := []string{"Q", "K", "V"}
			mask := ""
			if c.mask != nil {
				m := fRand(rng, c.mask...)
				mv, _ := tensor.View[float32](m)
				for i := range mv {
					if i%5 == 4 {
						mv[i] = float32(math.Inf(-1))
					}
				}
				env["mask"] = m
				mask = "mask"
				fin = append(fin, "mask")
				if c.merged {
					// The same values as [B*H, 1, Sk]: expand over heads.
					reg, _ := NewRegistry()
					env["mshape"] = fInts(int64(c.b), int64(c.h), 1, int64(c.sk))
					env["mflat"] = fInts(int64(c.b*c.h), 1, int64(c.sk))
					if err := fusedEval(t, reg, nil, env,
						fstep{op: "Expand", opset: 13, in: []string{"mask", "mshape"}, out: []string{"mexp"}, values: []int{1}},
						fstep{op: "Reshape", opset: 14, in: []string{"mexp", "mflat"}, out: []string{"mmerged"}, values: []int{1}}); err != nil {
						t.Fatal(err)
					}
					fin[3] = "mmerged"
				}
			}
			composed := attentionSteps(env, c.b, c.sq, c.sk, c.h, c.d, c.dv, scale, c.seqFirst, c.causal, mask)
			yName := "Y"
			if c.split {
				// Q, K, V, Y with the heads split: [., ., H, d].
				reg, _ := NewRegistry()
				split := func(name string, s, d int) string {
					shape := []int64{int64(c.b), int64(s), int64(c.h), int64(d)}
					if c.seqFirst {
						shape[0], shape[1] = shape[1], shape[0]
					}
					env[name+"_shape4"] = fInts(shape...)
					return name + "4"
				}
				for _, x := range []struct {
					name string
					s, d int
				}{{"Q", c.sq, c.d}, {"K", c.sk, c.d}, {"V", c.sk, c.dv}, {"Y", c.sq, c.dv}} {
					n4 := split(x.name, x.s, x.d)
					if x.name != "Y" {
						if err := fusedEval(t, reg, nil, env, fstep{op: "Reshape", opset: 14, in: []string{x.name, x.name + "_shape4"}, out: []string{n4}, values: []int{1}}); err != nil {
							t.Fatal(err)
						}
					}
				}
				fin[0], fin[1], fin[2] = "Q4", "K4", "V4"
				delete(attrs, "num_heads")
				composed = append(composed, fstep{op: "Reshape", opset: 14, in: []string{"Y", "Y_shape4"}, out: []string{"Y4"}, values: []int{1}})
				yName = "Y4"
			}
			fusedCompare(t, env, []fstep{{op: "Attention", fused: true, attrs: attrs, in: fin, out: []string{yName}}}, composed, yName)
		})
	}
}

// nnRunDomain is nnRun for an operator of another domain.
func nnRunDomain(t *testing.T, domain, op string, opset int, attrs nnAttrs, nout int, in ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	o, err := reg.Lookup(domain, op, opset)
	if err != nil {
		t.Fatal(err)
	}
	types := make([]ops.Type, len(in))
	for i, x := range in {
		if x != nil {
			types[i] = ops.TypeOf(x)
		}
	}
	plan, err := ops.PrepareOp(o, &ops.Node{Domain: domain, OpType: op, Opset: opset, Attrs: ops.NewAttrs(attrs), Inputs: types, NumOutputs: nout})
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, nout)
	for i, ot := range plan.Outputs {
		if ot.Static() {
			out[i], _ = tensor.New(ot.DType, ot.Shape)
		}
	}
	if err := plan.Kernel(&ops.Env{}, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Bad nodes are errors, never panics.
func TestFusedPrepareErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return nnRandT(rand.New(rand.NewSource(1)), shape...) }
	i64 := func(v ...int64) *tensor.Tensor { x, _ := tensor.FromSlice(v, len(v)); return x }
	x64, _ := tensor.FromSlice([]float64{1, 2}, 1, 1, 2)
	floats := func(v ...float32) ops.Attr { return ops.Attr{Type: ops.AttrFloats, Floats: v} }
	cases := []struct {
		name  string
		op    string
		attrs nnAttrs
		nout  int
		in    []*tensor.Tensor
	}{
		{"conv unknown activation", "FusedConv", nnAttrs{"activation": nnS("Swish2")}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv clip params", "FusedConv", nnAttrs{"activation": nnS("Clip"), "activation_params": floats(0)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv relu params", "FusedConv", nnAttrs{"activation": nnS("Relu"), "activation_params": floats(1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv NaN param", "FusedConv", nnAttrs{"activation": nnS("LeakyRelu"), "activation_params": floats(float32(math.NaN()))}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv activation type", "FusedConv", nnAttrs{"activation": nnI(1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv residual shape", "FusedConv", nil, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3), nil, f(1, 2, 3, 4)}},
		{"conv bias shape", "FusedConv", nil, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3), f(3)}},
		{"conv group", "FusedConv", nnAttrs{"group": nnI(2)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv strides", "FusedConv", nnAttrs{"strides": nnIs(0, 1)}, 1, []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3)}},
		{"conv float64", "FusedConv", nil, 1, []*tensor.Tensor{x64, x64}},
		{"matmul inner", "FusedMatMul", nil, 1, []*tensor.Tensor{f(2, 3), f(4, 2)}},
		{"matmul bias", "FusedMatMul", nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2), f(3)}},
		{"matmul residual", "FusedMatMul", nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2), nil, f(2, 3)}},
		{"matmul trans rank 1", "FusedMatMul", nnAttrs{"transA": nnI(1)}, 1, []*tensor.Tensor{f(3), f(3, 2)}},
		{"matmul trans value", "FusedMatMul", nnAttrs{"transB": nnI(2)}, 1, []*tensor.Tensor{f(2, 3), f(3, 2)}},
		{"chain no steps", "ElementwiseChain", nil, 1, []*tensor.Tensor{f(2, 3)}},
		{"chain lengths", "ElementwiseChain", nnAttrs{"ops": nnSs("Relu", "Exp"), "operands": nnIs(-1), "swap": nnIs(0, 0)}, 1, []*tensor.Tensor{f(2, 3)}},
		{"chain unknown op", "ElementwiseChain", nnAttrs{"ops": nnSs("Pow"), "operands": nnIs(1), "swap": nnIs(0)}, 1, []*tensor.Tensor{f(2, 3), f(1)}},
		{"chain operand index", "ElementwiseChain", nnAttrs{"ops": nnSs("Add"), "operands": nnIs(2), "swap": nnIs(0)}, 1, []*tensor.Tensor{f(2, 3), f(1)}},
		{"chain operand shape", "ElementwiseChain", nnAttrs{"ops": nnSs("Add"), "operands": nnIs(1), "swap": nnIs(0)}, 1, []*tensor.Tensor{f(2, 3), f(3)}},
		{"chain unary operand", "ElementwiseChain", nnAttrs{"ops": nnSs("Relu"), "operands": nnIs(1), "swap": nnIs(0)}, 1, []*tensor.Tensor{f(2, 3), f(2, 3)}},
		{"chain swap", "ElementwiseChain", nnAttrs{"ops": nnSs("Sub"), "operands": nnIs(1), "swap": nnIs(2)}, 1, []*tensor.Tensor{f(2, 3), f(2, 3)}},
		{"chain float64", "ElementwiseChain", nnAttrs{"ops": nnSs("Relu"), "operands": nnIs(-1), "swap": nnIs(0)}, 1, []*tensor.Tensor{x64}},
		{"matmul packed panels", "FusedMatMul", nnAttrs{"packed_b": nnI(16), "packed_n": nnI(20)}, 1, []*tensor.Tensor{f(2, 8), f(1, 8, 16)}},
		{"matmul packed width", "FusedMatMul", nnAttrs{"packed_b": nnI(16), "packed_n": nnI(20)}, 1, []*tensor.Tensor{f(2, 8), f(2, 8, 8)}},
		{"matmul packed depth", "FusedMatMul", nnAttrs{"packed_b": nnI(16), "packed_n": nnI(20)}, 1, []*tensor.Tensor{f(2, 8), f(2, 7, 16)}},
		{"matmul packed n", "FusedMatMul", nnAttrs{"packed_b": nnI(16)}, 1, []*tensor.Tensor{f(2, 8), f(2, 8, 16)}},
		{"matmul packed transB", "FusedMatMul", nnAttrs{"packed_b": nnI(16), "packed_n": nnI(20), "transB": nnI(1)}, 1, []*tensor.Tensor{f(2, 8), f(2, 8, 16)}},
		{"gemm C", "FusedGemm", nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2), f(3, 2)}},
		{"gemm rank", "FusedGemm", nil, 1, []*tensor.Tensor{f(2, 3, 1), f(3, 2)}},
		{"gemm residual", "FusedGemm", nil, 1, []*tensor.Tensor{f(2, 3), f(3, 2), nil, f(3)}},
		{"layernorm axis", "LayerNormalization", nnAttrs{"axis": nnI(3)}, 1, []*tensor.Tensor{f(2, 3), f(3)}},
		{"skip shape", "SkipLayerNormalization", nil, 1, []*tensor.Tensor{f(2, 3, 4), f(3, 3, 4), f(4)}},
		{"skip gamma", "SkipLayerNormalization", nil, 1, []*tensor.Tensor{f(2, 3, 4), f(2, 3, 4), f(3)}},
		{"skip bias", "SkipLayerNormalization", nil, 1, []*tensor.Tensor{f(2, 3, 4), f(2, 3, 4), f(4), nil, f(5)}},
		{"gelu bias", "BiasGelu", nil, 1, []*tensor.Tensor{f(2, 3), f(2)}},
		{"gelu int", "Gelu", nil, 1, []*tensor.Tensor{i64(1, 2)}},
		{"attention heads missing", "Attention", nil, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8)}},
		{"attention heads divide", "Attention", nnAttrs{"num_heads": nnI(3)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8)}},
		{"attention rank", "Attention", nnAttrs{"num_heads": nnI(2)}, 1, []*tensor.Tensor{f(4, 8), f(4, 8), f(4, 8)}},
		{"attention kv length", "Attention", nnAttrs{"num_heads": nnI(2)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 5, 8), f(1, 4, 8)}},
		{"attention hidden", "Attention", nnAttrs{"num_heads": nnI(2)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 6), f(1, 4, 8)}},
		{"attention mask", "Attention", nnAttrs{"num_heads": nnI(2)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8), f(1, 3, 4)}},
		{"attention mask rank", "Attention", nnAttrs{"num_heads": nnI(2)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8), f(1, 1, 1, 1, 4)}},
		{"attention causal", "Attention", nnAttrs{"num_heads": nnI(2), "causal": nnI(2)}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8)}},
		{"attention scale NaN", "Attention", nnAttrs{"num_heads": nnI(2), "scale": nnF(float32(math.NaN()))}, 1, []*tensor.Tensor{f(1, 4, 8), f(1, 4, 8), f(1, 4, 8)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := nnRunDomain(t, ops.DomainGoCANN, c.op, 1, c.attrs, c.nout, c.in...)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}

// TestFusedMatMulPacked: a FusedMatMul whose B is prepacked (in this
// machine's panel width, read in place, or another, repacked) computes
// what MatMul, Add and the activation compute, batched and transposed A
// included.
func TestFusedMatMulPacked(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, c := range []struct {
		name   string
		a      []int
		k, n   int
		transA bool
	}{
		{"rows", []int{37, 24}, 24, 70, false},
		{"batched", []int{2, 3, 19, 40}, 40, 33, false},
		{"vector", []int{40}, 40, 50, false},
		{"one row", []int{1, 1, 64}, 64, 129, false},
		{"transposed A", []int{3, 24, 10}, 24, 40, true},
	} {
		for _, nr := range []int{kernels.PackedNR(), 8} {
			t.Run(fmt.Sprintf("%s/nr=%d", c.name, nr), func(t *testing.T) {
				b := fRand(rng, c.k, c.n)
				bv, _ := tensor.View[float32](b)
				packed, err := kernels.PackB(bv, c.n, false, c.k, c.n, nr)
				if err != nil {
					t.Fatal(err)
				}
				pb, _ := tensor.FromSlice(packed, (c.n+nr-1)/nr, c.k, nr)
				env := map[string]*tensor.Tensor{"A": fRand(rng, c.a...), "B": b, "P": pb, "bias": fRand(rng, c.n)}
				a := "A"
				steps := []fstep{}
				attrs := nnAttrs{"packed_b": nnI(int64(nr)), "packed_n": nnI(int64(c.n)), "activation": nnS("Relu")}
				if c.transA {
					steps = append(steps, fstep{op: "Transpose", attrs: nnAttrs{"perm": nnIs(0, 2, 1)}, in: []string{"A"}, out: []string{"At"}})
					a = "At"
					attrs["transA"] = nnI(1)
				}
				composed := append(steps,
					fstep{op: "MatMul", in: []string{a, "B"}, out: []string{"mm"}},
					fstep{op: "Add", in: []string{"mm", "bias"}, out: []string{"s"}},
					fstep{op: "Relu", in: []string{"s"}, out: []string{"y"}})
				fused := append(steps, fstep{op: "FusedMatMul", fused: true, attrs: attrs, in: []string{"A", "P", "bias"}, out: []string{"y"}})
				fusedCompare(t, env, fused, composed, "y")
			})
		}
	}
}

// TestElementwiseChain: a chain computes what its operators compute one
// after another, over several blocks, with operands of X's shape, single
// elements, X itself and swapped sides.
func TestElementwiseChain(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, shape := range [][]int{{3, 7}, {2, 3, 2900}} {
		env := map[string]*tensor.Tensor{"X": fRand(rng, shape...), "Z": fRand(rng, shape...), "k": fScalar(0.75)}
		composed := []fstep{
			{op: "Sigmoid", in: []string{"X"}, out: []string{"s"}},
			{op: "Mul", in: []string{"X", "s"}, out: []string{"m"}},
			{op: "Sub", in: []string{"k", "m"}, out: []string{"d"}},
			{op: "Div", in: []string{"d", "Z"}, out: []string{"q"}},
			{op: "Tanh", in: []string{"q"}, out: []string{"t"}},
			{op: "Add", in: []string{"t", "Z"}, out: []string{"a"}},
			{op: "Erf", in: []string{"a"}, out: []string{"e"}},
			{op: "Relu", in: []string{"e"}, out: []string{"r"}},
			{op: "Abs", in: []string{"r"}, out: []string{"b"}},
			{op: "Sqrt", in: []string{"b"}, out: []string{"sq"}},
			{op: "Neg", in: []string{"sq"}, out: []string{"n"}},
			{op: "Exp", in: []string{"n"}, out: []string{"y"}},
		}
		fused := []fstep{{op: "ElementwiseChain", fused: true, attrs: nnAttrs{
			"ops":      nnSs("Sigmoid", "Mul", "Sub", "Div", "Tanh", "Add", "Erf", "Relu", "Abs", "Sqrt", "Neg", "Exp"),
			"operands": nnIs(-1, 0, 2, 1, -1, 1, -1, -1, -1, -1, -1, -1),
			"swap":     nnIs(0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		}, in: []string{"X", "Z", "k"}, out: []string{"y"}}}
		fusedCompare(t, env, fused, composed, "y")
	}
}

// TestElementwiseChainInPlace: the output may take over X's memory unless
// a step reads X again, and then computes the same bytes.
func TestElementwiseChainInPlace(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	op, err := reg.Lookup(ops.DomainGoCANN, "ElementwiseChain", 1)
	if err != nil {
		t.Fatal(err)
	}
	env := &ops.Env{Workers: cpu.NewWorkers(2)}
	defer env.Workers.Close()
	rng := rand.New(rand.NewSource(3))
	in := []*tensor.Tensor{fRand(rng, 4, 5000), fRand(rng, 4, 5000), fScalar(2)}
	for _, c := range []struct {
		operands []int64
		inPlace  bool
	}{{[]int64{1, -1, 2}, true}, {[]int64{1, -1, 0}, false}} {
		n := &ops.Node{OpType: "ElementwiseChain", Domain: ops.DomainGoCANN, Opset: 1, NumOutputs: 1,
			Attrs: ops.NewAttrs(nnAttrs{"ops": nnSs("Mul", "Tanh", "Add"), "operands": nnIs(c.operands...), "swap": nnIs(0, 0, 0)})}
		for _, x := range in {
			n.Inputs = append(n.Inputs, ops.TypeOf(x))
		}
		plan, err := ops.PrepareOp(op, n)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(plan.InPlace) == 1 && plan.InPlace[0] == 0; got != c.inPlace {
			t.Fatalf("operands %v: InPlace %v", c.operands, plan.InPlace)
		}
		if !c.inPlace {
			continue
		}
		ref, err := runOnce(env, plan, in, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := runOnce(env, plan, in, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ref) {
			t.Error("in place over X: results differ")
		}
	}
}
