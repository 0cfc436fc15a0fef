package standard

import (
	"context"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// If (1, 11, 13, 16, 19, 21). The versions differ only in the value types
// the branches may return (sequences from 13, optionals from 16) and in
// whether the branches may return different shapes (from 11), none of
// which needs checking here: the chosen branch's values are returned as
// they are.
func controlPrepareIf(n *ops.Node) (*ops.Plan, error) {
	if err := checkType(n, 0, []tensor.DType{tensor.Bool}); err != nil {
		return nil, err
	}
	if c := n.Input(0); !c.UnknownRank && c.Static() && c.Shape.NumElements() != 1 {
		return nil, n.Errorf("cond must hold a single element, got shape %v", c.Shape)
	}
	thenG, err := controlGraph(n, "then_branch")
	if err != nil {
		return nil, err
	}
	elseG, err := controlGraph(n, "else_branch")
	if err != nil {
		return nil, err
	}
	for _, b := range []struct {
		name string
		g    ops.Subgraph
	}{{"then_branch", thenG}, {"else_branch", elseG}} {
		if b.g.NumInputs() != 0 {
			return nil, n.Errorf("%s takes %d inputs, a branch takes none", b.name, b.g.NumInputs())
		}
		if b.g.NumOutputs() != n.NumOutputs {
			return nil, n.Errorf("%s has %d outputs, the node %d", b.name, b.g.NumOutputs(), n.NumOutputs)
		}
	}
	tt, et := controlSubgraphTypes(thenG), controlSubgraphTypes(elseG)
	outs := make([]ops.Type, n.NumOutputs)
	for i := range outs {
		outs[i] = controlPlanType(controlMergeTypes(tt[i], et[i]))
	}
	eval := func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
		c, err := controlScalarBool("cond", in[0])
		if err != nil {
			return nil, err
		}
		g, name := elseG, "else_branch"
		if c {
			g, name = thenG, "then_branch"
		}
		res, err := g.Run(ctx, nil)
		if err != nil {
			return nil, err
		}
		if len(res) != len(outs) {
			return nil, errorf("%s returned %d values, want %d", name, len(res), len(outs))
		}
		return res, nil
	}
	return &ops.Plan{Outputs: outs, Eval: eval}, nil
}

// Loop (1, 11, 13, 16, 19, 21). From 11 the loop-carried values may change
// shape between iterations, from 13 they may be sequences and from 16
// optionals; this implementation allows all of that at every version, since
// it passes the body's values on as they are.
func controlPrepareLoop(n *ops.Node) (*ops.Plan, error) {
	body, err := controlGraph(n, "body")
	if err != nil {
		return nil, err
	}
	if m := n.Input(0); m.Present() {
		if err := checkType(n, 0, []tensor.DType{tensor.Int64}); err != nil {
			return nil, err
		}
		if !m.UnknownRank && m.Static() && m.Shape.NumElements() != 1 {
			return nil, n.Errorf("M must be a scalar, got shape %v", m.Shape)
		}
	}
	hasCond := n.Input(1).Present()
	if hasCond {
		if err := checkType(n, 1, []tensor.DType{tensor.Bool}); err != nil {
			return nil, err
		}
	}
	nCarried := len(n.Inputs) - 2
	nScan := n.NumOutputs - nCarried
	if nScan < 0 {
		return nil, n.Errorf("%d loop-carried values but only %d outputs", nCarried, n.NumOutputs)
	}
	if body.NumInputs() != 2+nCarried {
		return nil, n.Errorf("body takes %d inputs, want %d (iteration number, condition and %d loop-carried values)", body.NumInputs(), 2+nCarried, nCarried)
	}
	if body.NumOutputs() != 1+nCarried+nScan {
		return nil, n.Errorf("body has %d outputs, want %d (condition, %d loop-carried values and %d scan outputs)", body.NumOutputs(), 1+nCarried+nScan, nCarried, nScan)
	}
	for i := 2; i < len(n.Inputs); i++ {
		if !n.Inputs[i].Present() {
			return nil, n.Errorf("loop-carried input %d is missing", i)
		}
	}
	bt := controlSubgraphTypes(body)
	outs := make([]ops.Type, n.NumOutputs)
	for i := 0; i < nCarried; i++ {
		// The values may change shape between iterations, and a loop
		// that does not run returns its input: the plan covers both the
		// input and what the body declares, when the two agree in type.
		in, decl := controlPlanType(n.Inputs[2+i]), bt[1+i]
		if decl.Kind == in.Kind && decl.DType == in.DType {
			outs[i] = controlPlanType(controlMergeTypes(in, decl))
		} else {
			outs[i] = ops.Type{Kind: in.Kind, DType: in.DType, UnknownRank: in.Kind == ops.KindTensor, Elem: in.Elem}
		}
	}
	for k := 0; k < nScan; k++ {
		outs[nCarried+k] = controlPrependDim(bt[1+nCarried+k], -1)
	}
	eval := func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
		maxTrips, limited := int64(0), in[0] != nil
		if limited {
			m, err := controlTensor("M", in[0])
			if err != nil {
				return nil, err
			}
			if maxTrips, err = controlScalarInt("M", m); err != nil {
				return nil, err
			}
		}
		cond := true
		if hasCond {
			var err error
			if cond, err = controlScalarBool("cond", in[1]); err != nil {
				return nil, err
			}
		}
		carried := append([]ops.Value(nil), in[2:]...)
		scans := make([][]*tensor.Tensor, nScan)
		args := make([]ops.Value, 2+nCarried)
		for iter := int64(0); cond && (!limited || iter < maxTrips); iter++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			args[0] = tensor.Scalar(iter)
			args[1] = tensor.Scalar(cond)
			copy(args[2:], carried)
			res, err := body.Run(ctx, args)
			if err != nil {
				return nil, err
			}
			if len(res) != 1+nCarried+nScan {
				return nil, errorf("body returned %d values, want %d", len(res), 1+nCarried+nScan)
			}
			// Without a cond input the body's condition is ignored
			// (the spec's "for" and infinite forms).
			if hasCond {
				if cond, err = controlScalarBool("body's condition output", res[0]); err != nil {
					return nil, err
				}
			}
			for i := 0; i < nCarried; i++ {
				if err := controlSameKind(i, carried[i], res[1+i]); err != nil {
					return nil, err
				}
				carried[i] = res[1+i]
			}
			for k := range scans {
				t, err := controlTensor("scan output", res[1+nCarried+k])
				if err != nil {
					return nil, err
				}
				scans[k] = append(scans[k], t)
			}
		}
		out := make([]ops.Value, n.NumOutputs)
		copy(out, carried)
		for k, parts := range scans {
			decl := bt[1+nCarried+k]
			t, err := controlStack(parts, 0, false, controlEmptyDType(decl), controlZeroShape(decl))
			if err != nil {
				return nil, err
			}
			out[nCarried+k] = t
		}
		return out, nil
	}
	return &ops.Plan{Outputs: outs, Eval: eval}, nil
}

// controlSameKind checks that a loop-carried value keeps its kind (and
// element type) from one iteration to the next. An optional may become the
// kind of value it holds and back: ONNX Runtime does not tell them apart,
// and the ONNX tests rely on it (test_loop16_seq_none returns a sequence
// for an optional loop-carried value).
func controlSameKind(i int, before, after ops.Value) error {
	tb, err := ops.TypeOfValue(before)
	if err != nil {
		return errorf("loop-carried value %d: %v", i, err)
	}
	ta, err := ops.TypeOfValue(after)
	if err != nil {
		return errorf("loop-carried value %d: %v", i, err)
	}
	kb, ka := tb.Kind, ta.Kind
	if kb == ops.KindOptional && tb.Elem != nil && ka != ops.KindOptional {
		kb = tb.Elem.Kind
	}
	if ka == ops.KindOptional && ta.Elem != nil && kb != ops.KindOptional {
		ka = ta.Elem.Kind
	}
	if kb != ka || (tb.DType != ta.DType && tb.DType != tensor.Undefined && ta.DType != tensor.Undefined) {
		return errorf("loop-carried value %d was %s and the body returned %s", i, controlKindOf(before), controlKindOf(after))
	}
	return nil
}

// controlEmptyDType is the element type of a scan output that no iteration
// produced: the declared one, else float32 (any would do for no elements).
func controlEmptyDType(t ops.Type) tensor.DType {
	if t.DType == tensor.Undefined || t.Kind != ops.KindTensor {
		return tensor.Float32
	}
	return t.DType
}

// controlPrependDim is the planned type of a scan output stacked on axis 0.
func controlPrependDim(elem ops.Type, d int) ops.Type {
	return controlInsertDim(elem, 0, d)
}

// controlInsertDim inserts dimension d at axis of a declared tensor type.
func controlInsertDim(elem ops.Type, axis, d int) ops.Type {
	elem = controlPlanType(elem)
	if elem.Kind != ops.KindTensor || elem.UnknownRank || axis > len(elem.Shape) || axis < 0 {
		return ops.Type{Kind: ops.KindTensor, DType: elem.DType, UnknownRank: true}
	}
	s := make(tensor.Shape, 0, len(elem.Shape)+1)
	s = append(s, elem.Shape[:axis]...)
	s = append(s, d)
	s = append(s, elem.Shape[axis:]...)
	return ops.Type{Kind: ops.KindTensor, DType: elem.DType, Shape: s}
}

// controlScanAttrs reads and checks one of Scan's per-input or per-output
// integer lists.
func controlScanAttrs(n *ops.Node, name string, count int) ([]int64, error) {
	a := n.Attrs
	v := a.Ints(name, nil)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if v == nil {
		return make([]int64, count), nil
	}
	if len(v) != count {
		return nil, n.Errorf("attribute %s has %d entries, want %d", name, len(v), count)
	}
	return v, nil
}

// controlDirections checks a list of scan directions (0 forward, 1 reverse).
func controlDirections(n *ops.Node, name string, v []int64) error {
	for i, d := range v {
		if d != 0 && d != 1 {
			return n.Errorf("attribute %s[%d] is %d, want 0 (forward) or 1 (reverse)", name, i, d)
		}
	}
	return nil
}

// Scan (9, 11, 16, 19, 21): scan inputs are sliced along scan_input_axes
// (negative axes from 11), scan outputs stacked along scan_output_axes.
func controlPrepareScan(n *ops.Node) (*ops.Plan, error) {
	body, err := controlGraph(n, "body")
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	a.Require("num_scan_inputs")
	m64 := a.Int("num_scan_inputs", 0)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if m64 < 1 || m64 > int64(len(n.Inputs)) {
		return nil, n.Errorf("num_scan_inputs is %d, the node has %d inputs", m64, len(n.Inputs))
	}
	nScanIn := int(m64)
	nState := len(n.Inputs) - nScanIn
	nScanOut := n.NumOutputs - nState
	if nScanOut < 0 {
		return nil, n.Errorf("%d state variables but only %d outputs", nState, n.NumOutputs)
	}
	if body.NumInputs() != nState+nScanIn {
		return nil, n.Errorf("body takes %d inputs, want %d (%d states and %d scan inputs)", body.NumInputs(), nState+nScanIn, nState, nScanIn)
	}
	if body.NumOutputs() != nState+nScanOut {
		return nil, n.Errorf("body has %d outputs, want %d (%d states and %d scan outputs)", body.NumOutputs(), nState+nScanOut, nState, nScanOut)
	}
	inAxes, err := controlScanAttrs(n, "scan_input_axes", nScanIn)
	if err != nil {
		return nil, err
	}
	inDirs, err := controlScanAttrs(n, "scan_input_directions", nScanIn)
	if err != nil {
		return nil, err
	}
	outAxes, err := controlScanAttrs(n, "scan_output_axes", nScanOut)
	if err != nil {
		return nil, err
	}
	outDirs, err := controlScanAttrs(n, "scan_output_directions", nScanOut)
	if err != nil {
		return nil, err
	}
	if n.Opset < 11 {
		for _, list := range []struct {
			name string
			v    []int64
		}{{"scan_input_axes", inAxes}, {"scan_output_axes", outAxes}} {
			for j, a := range list.v {
				if a < 0 {
					return nil, n.Errorf("%s[%d] is %d: negative axes need opset 11", list.name, j, a)
				}
			}
		}
	}
	if err := controlDirections(n, "scan_input_directions", inDirs); err != nil {
		return nil, err
	}
	if err := controlDirections(n, "scan_output_directions", outDirs); err != nil {
		return nil, err
	}
	for i := range n.Inputs {
		if i < nState {
			if t := n.Inputs[i]; !t.Present() || t.Kind != ops.KindTensor {
				return nil, n.Errorf("state input %d must be a tensor, got %s", i, t)
			}
			continue
		}
		if err := checkType(n, i, allTypes); err != nil {
			return nil, err
		}
	}
	// Input axes are resolved against the ranks now known; negative axes
	// came in with opset 11.
	axes := make([]int, nScanIn)
	seqLen := -1
	for j := range axes {
		t := n.Inputs[nState+j]
		if t.UnknownRank {
			axes[j] = -1 // resolved when the value arrives
			continue
		}
		ax, err := normAxis(n, inAxes[j], len(t.Shape))
		if err != nil {
			return nil, err
		}
		axes[j] = ax
		if d := t.Shape[ax]; d >= 0 {
			if seqLen >= 0 && d != seqLen {
				return nil, n.Errorf("scan input %d has %d steps along axis %d, an earlier one %d", j, d, ax, seqLen)
			}
			seqLen = d
		}
	}
	bt := controlSubgraphTypes(body)
	outs := make([]ops.Type, n.NumOutputs)
	for i := 0; i < nState; i++ {
		outs[i] = controlPlanType(n.Inputs[i])
	}
	for k := 0; k < nScanOut; k++ {
		decl := controlPlanType(bt[nState+k])
		ax := outAxes[k]
		if ax < 0 && !decl.UnknownRank {
			ax += int64(len(decl.Shape)) + 1
		}
		// Declared shapes only inform the plan; the run checks the axis
		// against the values the body produces.
		outs[nState+k] = controlInsertDim(decl, int(ax), seqLen)
	}
	eval := func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
		scanIn := make([]*tensor.Tensor, nScanIn)
		ax := append([]int(nil), axes...)
		steps := -1
		for j := range scanIn {
			t, err := controlTensor("scan input", in[nState+j])
			if err != nil {
				return nil, err
			}
			scanIn[j] = t
			if ax[j] < 0 {
				r := int64(t.Rank())
				a := inAxes[j]
				if a < -r || a >= r {
					return nil, errorf("scan_input_axes[%d] is %d, out of range for rank %d", j, a, r)
				}
				if a < 0 {
					a += r
				}
				ax[j] = int(a)
			}
			if ax[j] >= t.Rank() {
				return nil, errorf("scan input %d has rank %d, scanned along axis %d", j, t.Rank(), ax[j])
			}
			d := t.Shape()[ax[j]]
			if steps >= 0 && d != steps {
				return nil, errorf("scan input %d has %d steps, an earlier one %d", j, d, steps)
			}
			steps = d
		}
		state := append([]ops.Value(nil), in[:nState]...)
		scans := make([][]*tensor.Tensor, nScanOut)
		args := make([]ops.Value, nState+nScanIn)
		for t := 0; t < steps; t++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			copy(args, state)
			for j, x := range scanIn {
				pos := t
				if inDirs[j] == 1 {
					pos = steps - 1 - t
				}
				s, err := controlSlice(x, ax[j], pos)
				if err != nil {
					return nil, err
				}
				args[nState+j] = s
			}
			res, err := body.Run(ctx, args)
			if err != nil {
				return nil, err
			}
			if len(res) != nState+nScanOut {
				return nil, errorf("body returned %d values, want %d", len(res), nState+nScanOut)
			}
			for i := 0; i < nState; i++ {
				if _, err := controlTensor("state output", res[i]); err != nil {
					return nil, err
				}
				if err := controlSameKind(i, state[i], res[i]); err != nil {
					return nil, err
				}
				state[i] = res[i]
			}
			for k := range scans {
				st, err := controlTensor("scan output", res[nState+k])
				if err != nil {
					return nil, err
				}
				scans[k] = append(scans[k], st)
			}
		}
		out := make([]ops.Value, n.NumOutputs)
		copy(out, state)
		for k, parts := range scans {
			decl := bt[nState+k]
			elem := controlZeroShape(decl)
			if len(parts) > 0 {
				elem = parts[0].Shape()
			}
			a := outAxes[k]
			r := int64(len(elem)) + 1
			if a < -r || a >= r {
				return nil, errorf("scan_output_axes[%d] is %d, out of range for outputs of rank %d", k, a, r)
			}
			if a < 0 {
				a += r
			}
			t, err := controlStack(parts, int(a), outDirs[k] == 1, controlEmptyDType(decl), elem)
			if err != nil {
				return nil, err
			}
			out[nState+k] = t
		}
		return out, nil
	}
	return &ops.Plan{Outputs: outs, Eval: eval}, nil
}

// Scan (8): every input and output has a batch axis 0; scan inputs have
// their sequence axis at 1, and sequence_lens (input 0) may give each batch
// entry a shorter length, the rest of its scan outputs being zero.
func controlPrepareScan8(n *ops.Node) (*ops.Plan, error) {
	body, err := controlGraph(n, "body")
	if err != nil {
		return nil, err
	}
	a := n.Attrs
	a.Require("num_scan_inputs")
	m64 := a.Int("num_scan_inputs", 0)
	if err := a.Err(); err != nil {
		return nil, err
	}
	nVar := len(n.Inputs) - 1
	if m64 < 1 || m64 > int64(nVar) {
		return nil, n.Errorf("num_scan_inputs is %d, the node has %d state and scan inputs", m64, nVar)
	}
	nScanIn := int(m64)
	nState := nVar - nScanIn
	nScanOut := n.NumOutputs - nState
	if nScanOut < 0 {
		return nil, n.Errorf("%d state variables but only %d outputs", nState, n.NumOutputs)
	}
	if body.NumInputs() != nState+nScanIn {
		return nil, n.Errorf("body takes %d inputs, want %d (%d states and %d scan inputs)", body.NumInputs(), nState+nScanIn, nState, nScanIn)
	}
	if body.NumOutputs() != nState+nScanOut {
		return nil, n.Errorf("body has %d outputs, want %d (%d states and %d scan outputs)", body.NumOutputs(), nState+nScanOut, nState, nScanOut)
	}
	dirs := a.Ints("directions", nil)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if dirs == nil {
		dirs = make([]int64, nScanIn)
	}
	if len(dirs) != nScanIn {
		return nil, n.Errorf("attribute directions has %d entries, want %d", len(dirs), nScanIn)
	}
	if err := controlDirections(n, "directions", dirs); err != nil {
		return nil, err
	}
	if n.Input(0).Present() {
		if err := checkType(n, 0, []tensor.DType{tensor.Int64}); err != nil {
			return nil, err
		}
	}
	batch, seqLen := -1, -1
	for i := 1; i < len(n.Inputs); i++ {
		if err := checkType(n, i, allTypes); err != nil {
			return nil, err
		}
		t := n.Inputs[i]
		minRank := 1
		if i > nState {
			minRank = 2
		}
		if t.UnknownRank {
			continue
		}
		if len(t.Shape) < minRank {
			return nil, n.Errorf("input %d has rank %d, want at least %d (batch axis%s)", i, len(t.Shape), minRank, map[bool]string{true: " and sequence axis", false: ""}[minRank == 2])
		}
		if d := t.Shape[0]; d >= 0 {
			if batch >= 0 && d != batch {
				return nil, n.Errorf("input %d has batch size %d, an earlier one %d", i, d, batch)
			}
			batch = d
		}
		if i > nState && t.Shape[1] >= 0 {
			seqLen = t.Shape[1]
		}
	}
	bt := controlSubgraphTypes(body)
	outs := make([]ops.Type, n.NumOutputs)
	for i := 0; i < nState; i++ {
		outs[i] = controlPlanType(n.Inputs[1+i])
	}
	for k := 0; k < nScanOut; k++ {
		outs[nState+k] = controlInsertDim(controlInsertDim(bt[nState+k], 0, seqLen), 0, batch)
	}
	eval := func(ctx context.Context, env *ops.Env, in []ops.Value) ([]ops.Value, error) {
		states := make([]*tensor.Tensor, nState)
		scanIn := make([]*tensor.Tensor, nScanIn)
		batch, maxLen := -1, -1
		for i := 1; i < len(in); i++ {
			t, err := controlTensor("input", in[i])
			if err != nil {
				return nil, err
			}
			minRank := 1
			if i > nState {
				minRank = 2
			}
			if t.Rank() < minRank {
				return nil, errorf("input %d has rank %d, want at least %d", i, t.Rank(), minRank)
			}
			if batch >= 0 && t.Shape()[0] != batch {
				return nil, errorf("input %d has batch size %d, an earlier one %d", i, t.Shape()[0], batch)
			}
			batch = t.Shape()[0]
			if i > nState {
				if maxLen >= 0 && t.Shape()[1] != maxLen {
					return nil, errorf("scan input %d has %d steps, an earlier one %d", i-1-nState, t.Shape()[1], maxLen)
				}
				maxLen = t.Shape()[1]
				scanIn[i-1-nState] = t
			} else {
				states[i-1] = t
			}
		}
		lens := make([]int, batch)
		for b := range lens {
			lens[b] = maxLen
		}
		if in[0] != nil {
			sl, err := controlTensor("sequence_lens", in[0])
			if err != nil {
				return nil, err
			}
			v, err := intsOf(sl)
			if err != nil {
				return nil, err
			}
			if len(v) != batch {
				return nil, errorf("sequence_lens has %d entries, batch size is %d", len(v), batch)
			}
			for b, l := range v {
				if l < 0 || l > int64(maxLen) {
					return nil, errorf("sequence_lens[%d] is %d, want 0..%d", b, l, maxLen)
				}
				lens[b] = int(l)
			}
		}
		finals := make([][]*tensor.Tensor, nState)
		parts := make([][][]*tensor.Tensor, nScanOut) // [k][b][t]
		for k := range parts {
			parts[k] = make([][]*tensor.Tensor, batch)
		}
		args := make([]ops.Value, nState+nScanIn)
		for b := 0; b < batch; b++ {
			st := make([]ops.Value, nState)
			for i, s := range states {
				x, err := controlSlice(s, 0, b)
				if err != nil {
					return nil, err
				}
				st[i] = x
			}
			ins := make([]*tensor.Tensor, nScanIn)
			for j, x := range scanIn {
				if ins[j], err = controlSlice(x, 0, b); err != nil {
					return nil, err
				}
			}
			for t := 0; t < lens[b]; t++ {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				copy(args, st)
				for j, x := range ins {
					pos := t
					if dirs[j] == 1 {
						pos = lens[b] - 1 - t
					}
					s, err := controlSlice(x, 0, pos)
					if err != nil {
						return nil, err
					}
					args[nState+j] = s
				}
				res, err := body.Run(ctx, args)
				if err != nil {
					return nil, err
				}
				if len(res) != nState+nScanOut {
					return nil, errorf("body returned %d values, want %d", len(res), nState+nScanOut)
				}
				for i := range st {
					x, err := controlTensor("state output", res[i])
					if err != nil {
						return nil, err
					}
					if x.DType() != states[i].DType() {
						return nil, errorf("state %d is %s, the body returned %s", i, states[i].DType(), x.DType())
					}
					st[i] = x
				}
				for k := range parts {
					x, err := controlTensor("scan output", res[nState+k])
					if err != nil {
						return nil, err
					}
					parts[k][b] = append(parts[k][b], x)
				}
			}
			for i := range st {
				finals[i] = append(finals[i], st[i].(*tensor.Tensor))
			}
		}
		out := make([]ops.Value, n.NumOutputs)
		for i := range finals {
			t, err := controlStack(finals[i], 0, false, states[i].DType(), states[i].Shape()[1:])
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		for k := range parts {
			// The element shape comes from any iteration that ran, else
			// from the declaration; shorter sequences are padded with zeros.
			decl := bt[nState+k]
			dt, elem := controlEmptyDType(decl), controlZeroShape(decl)
			for _, p := range parts[k] {
				if len(p) > 0 {
					dt, elem = p[0].DType(), p[0].Shape()
					break
				}
			}
			rows := make([]*tensor.Tensor, batch)
			for b, p := range parts[k] {
				for len(p) < maxLen {
					z, err := tensor.New(dt, elem)
					if err != nil {
						return nil, errorf("%v", err)
					}
					p = append(p, z)
				}
				r, err := controlStack(p, 0, false, dt, elem)
				if err != nil {
					return nil, err
				}
				rows[b] = r
			}
			t, err := controlStack(rows, 0, false, dt, append(tensor.Shape{maxLen}, elem...))
			if err != nil {
				return nil, err
			}
			out[nState+k] = t
		}
		return out, nil
	}
	return &ops.Plan{Outputs: outs, Eval: eval}, nil
}
