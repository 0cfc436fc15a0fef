package engine

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// An execution plan is what the main graph becomes for one signature of
// its inputs: a flat list of launches with their prepared operator plans,
// and a static arena in which every intermediate of known size has its
// offset. Planning happens once per signature, without running the model:
// node plans are prepared from the types that flow from the inputs, and
// only small values whose contents are fixed by the signature (shape
// arithmetic: Shape, Gather, Concat… over constants) are computed, once,
// and kept ("folded"). A node whose plan cannot be fixed this way (control
// flow, a value input computed from data, a shape known only after a
// kernel ran) becomes a dynamic launch, prepared on every run as on the
// general path, and so does everything downstream of it.

// maxPlans bounds the per-signature plan cache.
const maxPlans = 16

// foldLimit is the most bytes a folded node may produce: folding is for
// shape arithmetic, not for precomputing large constants twice.
const foldLimit = 64 << 10

type launchKind uint8

const (
	launchKernel  launchKind = iota // a kernel with bound outputs
	launchView                      // output 0 is input 0 reshaped: no kernel runs
	launchEval                      // a prepared Eval plan (sequences, optionals)
	launchDynamic                   // prepared on every run (general path)
)

type bindKind uint8

const (
	bindNone  bindKind = iota // the kernel allocates (size known only at run time)
	bindArena                 // a tensor over the run's arena
	bindHeap                  // a fresh host tensor every run (graph outputs, values that escape)
)

// binding is what a launch is given for one output.
type binding struct {
	kind  bindKind
	view  int // bindArena: index into execPlan.views
	dtype tensor.DType
	shape tensor.Shape
}

// launch is one node of the plan.
type launch struct {
	kind    launchKind
	st      *step
	plan    *ops.Plan // nil for launchDynamic
	in, out []int     // slots; -1 for omitted ones
	bind    []binding // launchKernel, launchView: one per output
	zero    []int     // arena views cleared before the kernel (the plan does not overwrite them)
	release []int     // heap slots whose last reader this launch is
	// inDesc and outDesc describe the operands for the profiler.
	inDesc, outDesc []string
	// dev is the launch's kernel on the accelerator, devPlan the plan
	// PrepareDevice returned with it; nil when it runs on the CPU.
	dev     *ops.DevicePlan
	devPlan *ops.Plan
	devFree []int // slots whose device memory is dead after this launch
}

// arenaView is a tensor over the arena: one per value the arena holds,
// plus scratch outputs nobody reads.
type arenaView struct {
	slot      int // -1: an omitted output
	off       int64
	bytes     int64
	dtype     tensor.DType
	shape     tensor.Shape
	def       int // launch that produces it
	viewOf    int // view whose contents it shares (a launchView), or -1
	inPlaceOf int // view whose memory it took over (ops.Plan.InPlace), or -1
	group     int // region
}

// execPlan is the main graph planned for one input signature. It is
// immutable once built, except for its pool of arenas.
type execPlan struct {
	sig      []inputSig
	launches []launch
	nslots   int
	inputs   []int       // slots of the graph inputs
	outputs  []int       // slots of the graph outputs
	outCopy  []bool      // outputs returned as copies (constants, folded values)
	tmpl     []ops.Value // constants and folded values, by slot
	views    []arenaView
	regions  []region
	size     int64 // arena bytes
	stats    MemoryStats

	placement Placement
	// devConst holds, by slot, the device copies of constants, made on
	// first use and kept with the plan (guarded by Executable.devMu);
	// evicted is set when the plan leaves the cache, so that a run still
	// holding it frees what it uploads.
	devConst []*tensor.Tensor
	evicted  bool

	mu    sync.Mutex
	free  []*arena
	count int // arenas made, for their ids
}

// planCache holds the plans of the signatures seen, newest last.
type planCache struct {
	mu    sync.Mutex
	plans atomic.Pointer[[]*execPlan]
}

func (c *planCache) find(e *Executable, args []ops.Value) *execPlan {
	if ps := c.plans.Load(); ps != nil {
		for _, pl := range *ps {
			if matchSignature(pl.sig, e.defaults, args) {
				return pl
			}
		}
	}
	return nil
}

func (c *planCache) add(e *Executable, pl *execPlan) *execPlan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []*execPlan
	if ps := c.plans.Load(); ps != nil {
		old = *ps
	}
	for _, q := range old {
		if matchSignatures(q.sig, pl.sig) {
			return q // planned meanwhile by a concurrent run
		}
	}
	if len(old) >= maxPlans {
		if e.hetero() {
			e.devMu.Lock()
			old[0].evicted = true
			old[0].freeDeviceConstants()
			e.devMu.Unlock()
		}
		old = old[1:]
	}
	ps := append(append(make([]*execPlan, 0, len(old)+1), old...), pl)
	c.plans.Store(&ps)
	return pl
}

func (c *planCache) all() []*execPlan {
	if ps := c.plans.Load(); ps != nil {
		return *ps
	}
	return nil
}

// planFor returns the plan for these (checked) arguments, planning it on
// first use of their signature.
func (e *Executable) planFor(args []ops.Value) (*execPlan, error) {
	if pl := e.plans.find(e, args); pl != nil {
		return pl, nil
	}
	pl, err := e.newPlan(args)
	if err != nil {
		return nil, err
	}
	return e.plans.add(e, pl), nil
}

// slotState is what planning knows of a value.
type slotState struct {
	known bool           // a tensor whose type every run of the signature shares
	typ   ops.Type       // when known (Value unset)
	value *tensor.Tensor // contents fixed by the signature: constants, defaults, folded values
	fixed bool           // value is set
	def   int            // producing launch, or -1 (input, constant, folded)
}

// planner builds one execPlan.
type planner struct {
	e     *Executable
	p     *program
	pl    *execPlan
	slots []slotState
}

func (e *Executable) newPlan(args []ops.Value) (pl *execPlan, err error) {
	p := e.main
	pl = &execPlan{sig: signatureOf(e.defaults, args), nslots: p.nslots, inputs: p.inputs, outputs: p.outputs}
	pb := &planner{e: e, p: p, pl: pl, slots: make([]slotState, p.nslots)}
	for i := range pb.slots {
		pb.slots[i].def = -1
	}
	pl.tmpl = make([]ops.Value, p.nslots)
	for _, c := range p.consts {
		pb.slots[c.slot] = slotState{known: true, typ: typeOf(c.t), value: c.t, fixed: true, def: -1}
		pl.tmpl[c.slot] = c.t
	}
	for i, s := range p.inputs {
		pb.slots[s] = slotState{def: -1}
		if t, ok := args[i].(*tensor.Tensor); ok {
			pb.slots[s].known = true
			pb.slots[s].typ = typeOf(t)
			if t == e.defaults[i] { // the initializer itself: fixed contents
				pb.slots[s].value, pb.slots[s].fixed = t, true
			}
		}
		pl.tmpl[s] = nil // the caller's value, set each run
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("planning: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	for _, st := range p.steps {
		if err := pb.addStep(st); err != nil {
			return nil, err
		}
	}
	if err := pb.place(); err != nil {
		return nil, err
	}
	if err := pb.bindOutputs(); err != nil {
		return nil, err
	}
	pb.finish()
	return pl, nil
}

func typeOf(t *tensor.Tensor) ops.Type {
	return ops.Type{Kind: ops.KindTensor, DType: t.DType(), Shape: t.Shape()}
}

// addStep plans one node: folded, or a launch of some kind.
func (pb *planner) addStep(st *step) error {
	if len(st.subs) > 0 || len(st.lists) > 0 {
		pb.addDynamic(st)
		return nil
	}
	types := make([]ops.Type, len(st.in))
	for j, s := range st.in {
		if s < 0 {
			continue
		}
		ss := &pb.slots[s]
		if !ss.known || isValueInput(st.op, j) && !ss.fixed {
			pb.addDynamic(st)
			return nil
		}
		types[j] = ss.typ
		types[j].Value = ss.value // st.plan keeps it for value inputs only
	}
	plan, err := st.plan(pb.e, pb.p, nil, types)
	if err != nil {
		return err
	}
	if plan.Eval != nil {
		l := launch{kind: launchEval, st: st, plan: plan, in: st.in, out: st.out}
		pb.pl.launches = append(pb.pl.launches, l)
		return nil // outputs unknown: sequences, optionals, or tensors of any shape
	}
	if ok, err := pb.fold(st, plan); ok || err != nil {
		if ok {
			pb.pl.stats.Folded++
		}
		return err
	}
	kind := launchKernel
	if plan.View && len(plan.Outputs) == 1 && staticTensor(plan.Outputs[0]) && st.in[0] >= 0 &&
		sameBytes(pb.slots[st.in[0]].typ, plan.Outputs[0]) {
		kind = launchView
	}
	idx := len(pb.pl.launches)
	pb.pl.launches = append(pb.pl.launches, launch{kind: kind, st: st, plan: plan, in: st.in, out: st.out})
	for k, s := range st.out {
		if s < 0 {
			continue
		}
		if o := plan.Outputs[k]; staticTensor(o) {
			o.Value = nil
			pb.slots[s] = slotState{known: true, typ: o, def: idx}
		} else {
			pb.slots[s] = slotState{def: idx}
		}
	}
	return nil
}

func (pb *planner) addDynamic(st *step) {
	idx := len(pb.pl.launches)
	pb.pl.launches = append(pb.pl.launches, launch{kind: launchDynamic, st: st, in: st.in, out: st.out})
	for _, s := range st.out {
		if s >= 0 {
			pb.slots[s] = slotState{def: idx}
		}
	}
}

func staticTensor(t ops.Type) bool {
	return t.Kind == ops.KindTensor && t.Static() && t.DType != tensor.Undefined
}

func sameBytes(a, b ops.Type) bool {
	return a.DType == b.DType && a.Shape.NumElements() == b.Shape.NumElements()
}

// deterministic reports whether a node's outputs are a function of its
// inputs alone, so that a node of fixed inputs may be folded.
func deterministic(st *step) bool {
	switch ops.NormalizeDomain(st.node.Domain) {
	case "", "com.gocann":
	default:
		return false // custom operators promise nothing
	}
	switch st.node.OpType {
	case "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
		"Multinomial", "Bernoulli", "Dropout":
		return false
	}
	return true
}

// fold computes, once, a node whose outputs the signature fixes: outputs
// whose contents the plan already knows (Shape), views of fixed values,
// and small deterministic nodes of fixed inputs.
func (pb *planner) fold(st *step, plan *ops.Plan) (bool, error) {
	given := len(plan.Outputs) > 0
	for _, o := range plan.Outputs {
		given = given && o.Value != nil && staticTensor(o)
	}
	if given {
		for k, s := range st.out {
			if s >= 0 {
				pb.setFolded(s, plan.Outputs[k].Value)
			}
		}
		return true, nil
	}
	if !deterministic(st) {
		return false, nil
	}
	in := make([]*tensor.Tensor, len(st.in))
	for j, s := range st.in {
		if s < 0 {
			continue
		}
		if !pb.slots[s].fixed {
			return false, nil
		}
		in[j] = pb.slots[s].value
	}
	if plan.View && len(plan.Outputs) == 1 && staticTensor(plan.Outputs[0]) && in[0] != nil {
		v, err := in[0].Reshape(plan.Outputs[0].Shape)
		if err == nil && st.out[0] >= 0 {
			pb.setFolded(st.out[0], v)
			pb.pl.stats.FoldedBytes -= v.NumBytes() // shares the constant's memory
			return true, nil
		}
	}
	var bytes int64
	for _, o := range plan.Outputs {
		if !staticTensor(o) {
			return false, nil
		}
		bytes += int64(o.Shape.NumElements()) * int64(max(o.DType.Size(), 1))
	}
	if bytes > foldLimit {
		return false, nil
	}
	env := &pb.e.env
	out := make([]*tensor.Tensor, len(plan.Outputs))
	for k, o := range plan.Outputs {
		t, err := env.NewTensor(o.DType, o.Shape)
		if err != nil {
			return false, fmt.Errorf("node %v output %d: %w", st.node, k, err)
		}
		out[k] = t
	}
	if err := runKernel(plan.Kernel, env, in, out); err != nil {
		return false, fmt.Errorf("node %v: %w", st.node, err)
	}
	for k, s := range st.out {
		if s < 0 {
			continue
		}
		if out[k] == nil {
			return false, fmt.Errorf("node %v: kernel left output %d unset", st.node, k)
		}
		pb.setFolded(s, out[k])
	}
	return true, nil
}

func (pb *planner) setFolded(s int, v *tensor.Tensor) {
	pb.slots[s] = slotState{known: true, typ: typeOf(v), value: v, fixed: true, def: -1}
	pb.pl.tmpl[s] = v
	pb.pl.stats.FoldedBytes += v.NumBytes()
}

// runKernel calls a kernel, turning a panic into an error.
func runKernel(k ops.Kernel, env *ops.Env, in, out []*tensor.Tensor) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
		}
	}()
	return k(env, in, out)
}

// bindOutputs decides where every launch's outputs live. A value goes to
// the arena when its size is static and nothing can hold on to it past the
// run or past its last reader: graph outputs, the inputs of Eval and
// dynamic launches (a sequence or a control-flow node may keep them) and
// the values subgraphs read stay on the heap. Views of arena values share
// their memory; an elementwise output takes over an input that dies at its
// node (ops.Plan.InPlace).
func (pb *planner) bindOutputs() error {
	pl := pb.pl
	n := pl.nslots
	last := make([]int, n) // last launch reading each slot
	for i := range last {
		last[i] = -1
	}
	heap := make([]bool, n)
	for _, s := range pl.outputs {
		heap[s] = true
	}
	for i := range pl.launches {
		l := &pl.launches[i]
		// A device launch's inputs are heap values too: their copies to
		// the device are then only enqueued (heteroRun.copy).
		escapes := l.kind == launchEval || l.kind == launchDynamic || l.dev != nil
		for _, s := range l.in {
			if s >= 0 {
				last[s] = i
				heap[s] = heap[s] || escapes
			}
		}
		for _, sub := range l.st.allSubs() {
			for _, f := range sub.free {
				last[f.parentSlot] = i
				heap[f.parentSlot] = true
			}
		}
	}
	// Groups of arena values sharing memory (views, in-place chains).
	type group struct {
		bytes      int64
		start, end int
	}
	var groups []group
	grp := make([]int, n)     // group of an arena slot, else -1
	viewIdx := make([]int, n) // arena view of a slot
	for i := range grp {
		grp[i], viewIdx[i] = -1, -1
	}
	env := &pb.e.env
	addView := func(s int, o ops.Type, g, i, parent, inPlace int) int {
		pl.views = append(pl.views, arenaView{slot: s, bytes: int64(o.Shape.NumElements()) * int64(o.DType.Size()),
			dtype: o.DType, shape: o.Shape, def: i, viewOf: parent, inPlaceOf: inPlace, group: g})
		v := len(pl.views) - 1
		if s >= 0 {
			grp[s], viewIdx[s] = g, v
			groups[g].end = max(groups[g].end, last[s], i)
		}
		return v
	}
	newGroup := func(bytes int64, i int) int {
		groups = append(groups, group{bytes: bytes, start: i, end: i})
		return len(groups) - 1
	}
	for i := range pl.launches {
		l := &pl.launches[i]
		if l.dev != nil {
			continue // its outputs live on the device
		}
		switch l.kind {
		case launchView:
			s, t := l.out[0], l.in[0]
			o := l.plan.Outputs[0]
			if s >= 0 && heap[s] {
				l.kind = launchKernel // a copy the caller (or a sequence) may keep
				break
			}
			if s >= 0 && grp[t] >= 0 {
				v := addView(s, o, grp[t], i, viewIdx[t], -1)
				l.bind = []binding{{kind: bindArena, view: v, dtype: o.DType, shape: o.Shape}}
				pl.stats.Views++
			} else {
				// A reshape of a value outside the arena, made each run.
				l.bind = []binding{{kind: bindNone, dtype: o.DType, shape: o.Shape}}
				pl.stats.Views++
			}
			continue
		case launchKernel:
		default:
			continue
		}
		if l.kind != launchKernel {
			continue
		}
		l.bind = make([]binding, len(l.plan.Outputs))
		for k, o := range l.plan.Outputs {
			s := -1
			if k < len(l.out) {
				s = l.out[k]
			}
			b := &l.bind[k]
			b.dtype, b.shape = o.DType, o.Shape
			if !staticTensor(o) {
				b.kind = bindNone
				pl.stats.DynamicValues++
				continue
			}
			if err := env.CheckSize(o.DType, o.Shape); err != nil {
				return fmt.Errorf("node %v output %d: %w", l.st.node, k, err)
			}
			bytes := int64(o.Shape.NumElements()) * int64(o.DType.Size())
			if o.DType == tensor.String || s >= 0 && heap[s] {
				b.kind = bindHeap
				pl.stats.HeapBytes += bytes
				continue
			}
			b.kind = bindArena
			if k == 0 && s >= 0 && l.plan.Overwrites {
				if j := pb.inPlaceInput(l, i, bytes, o.DType, grp, func(g int) (int64, int) { return groups[g].bytes, groups[g].end }); j >= 0 {
					t := l.in[j]
					b.view = addView(s, o, grp[t], i, -1, viewIdx[t])
					pl.stats.InPlace++
					continue
				}
			}
			g := newGroup(bytes, i)
			b.view = addView(s, o, g, i, -1, -1)
			if !l.plan.Overwrites {
				l.zero = append(l.zero, b.view)
			}
		}
	}
	// Regions: one per group, offsets assigned by size.
	pl.regions = make([]region, len(groups))
	for g, gr := range groups {
		pl.regions[g] = region{size: alignUp(gr.bytes), start: gr.start, end: gr.end}
	}
	pl.size = assignOffsets(pl.regions)
	for v := range pl.views {
		pl.views[v].off = pl.regions[pl.views[v].group].off
	}
	// Release heap values after their last reader.
	isOut := make([]bool, n)
	for _, s := range pl.outputs {
		isOut[s] = true
	}
	for s := 0; s < n; s++ {
		if pb.slots[s].def < 0 || isOut[s] || grp[s] >= 0 || last[s] < 0 {
			continue
		}
		pl.launches[last[s]].release = append(pl.launches[last[s]].release, s)
	}
	pl.outCopy = make([]bool, len(pl.outputs))
	for i, s := range pl.outputs {
		pl.outCopy[i] = pb.slots[s].fixed && pb.slots[s].def < 0 && !pb.isInput(s)
	}
	return nil
}

func (pb *planner) isInput(s int) bool {
	for _, x := range pb.p.inputs {
		if x == s {
			return true
		}
	}
	return false
}

// inPlaceInput returns the input whose arena memory output 0 of launch i
// may take over, or -1: one the plan allows, in the arena, of the output's
// type and size, not read after this launch (nor is anything sharing its
// memory), and not also passed to the launch under another slot sharing
// its memory.
func (pb *planner) inPlaceInput(l *launch, i int, bytes int64, dt tensor.DType, grp []int, info func(g int) (int64, int)) int {
	for _, j := range l.plan.InPlace {
		if j < 0 || j >= len(l.in) || l.in[j] < 0 {
			continue
		}
		t := l.in[j]
		g := grp[t]
		if g < 0 {
			continue
		}
		gb, end := info(g)
		if end > i || gb != bytes || pb.slots[t].typ.DType != dt {
			continue
		}
		ok := true
		for k, u := range l.in {
			if k != j && u >= 0 && u != t && grp[u] == g {
				ok = false
			}
		}
		if ok {
			return j
		}
	}
	return -1
}
