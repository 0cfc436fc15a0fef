package opencl

import (
	"context"
	"embed"
	"encoding/binary"
	"fmt"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
	clrt "github.com/gocann/gocann/runtime/opencl"
	"github.com/gocann/gocann/tensor"
)

// The kernel sources, compiled per device on first use (and then loaded
// from the runtime's program cache). Each program is the prelude followed
// by one file, specialized by -D options (element type, tile sizes).
//
//go:embed cl/prelude.h cl/*.cl
var sources embed.FS

// kernelOf returns kernel name of cl/file built on dev with the defines.
func kernelOf(dev *clrt.Device, file, defines, name string) (*clrt.Kernel, error) {
	prelude, err := sources.ReadFile("cl/prelude.h")
	if err != nil {
		return nil, err
	}
	body, err := sources.ReadFile("cl/" + file)
	if err != nil {
		return nil, err
	}
	src := string(prelude) + "\n#line 1 \"" + file + "\"\n" + string(body)
	p, err := dev.BuildProgram(src, "-cl-std=CL1.2 "+defines)
	if err != nil {
		// A device whose compiler rejects a kernel cannot run the node;
		// the engine falls back and reports why.
		return nil, fmt.Errorf("%s on %s: %w: %w", file, dev.Properties().ID(), runtime.ErrUnsupported, err)
	}
	return p.Kernel(name)
}

// device returns dev as an OpenCL device, or ErrUnsupported.
func device(dev runtime.Device) (*clrt.Device, error) {
	d, ok := dev.(*clrt.Device)
	if !ok || d == nil {
		return nil, fmt.Errorf("device %T is not an OpenCL device: %w", dev, runtime.ErrUnsupported)
	}
	return d, nil
}

// ctype is the OpenCL C type of a tensor element type, "" if none.
func ctype(dt tensor.DType) string {
	switch dt {
	case tensor.Float32:
		return "float"
	case tensor.Float64:
		return "double"
	case tensor.Int8:
		return "char"
	case tensor.Uint8, tensor.Bool:
		return "uchar"
	case tensor.Int16:
		return "short"
	case tensor.Uint16:
		return "ushort"
	case tensor.Int32:
		return "int"
	case tensor.Uint32:
		return "uint"
	case tensor.Int64:
		return "long"
	case tensor.Uint64:
		return "ulong"
	}
	return ""
}

// bitsType is an unsigned type of the element's size, for kernels that only
// move elements.
func bitsType(dt tensor.DType) string {
	switch dt.Size() {
	case 1:
		return "uchar"
	case 2:
		return "ushort"
	case 4:
		return "uint"
	case 8:
		return "ulong"
	}
	return ""
}

// typeDefines specializes a program for element type dt: T, FLOAT for
// floating types, USE_FP64 for double (which needs the device's fp64).
func typeDefines(dev *clrt.Device, dt tensor.DType) (string, error) {
	ct := ctype(dt)
	if ct == "" {
		return "", fmt.Errorf("element type %s: %w", dt, runtime.ErrUnsupported)
	}
	d := "-DT=" + ct
	switch dt {
	case tensor.Float32:
		d += " -DFLOAT"
	case tensor.Float64:
		if !dev.Properties().HasFeature("fp64") {
			return "", fmt.Errorf("float64 on a device without fp64: %w", runtime.ErrUnsupported)
		}
		d += " -DFLOAT -DUSE_FP64"
	}
	return d, nil
}

// scalar converts v to the Go type matching the kernel's T for dt.
func scalar(dt tensor.DType, v float64) any {
	switch dt {
	case tensor.Float64:
		return v
	case tensor.Int32:
		return int32(v)
	case tensor.Int64:
		return int64(v)
	}
	return float32(v)
}

// arg returns a tensor's buffer and its offset in elements, the pair every
// kernel takes for a tensor.
func arg(t *tensor.Tensor) (runtime.Buffer, int64, error) {
	if t == nil {
		return nil, 0, fmt.Errorf("missing tensor: %w", runtime.ErrInvalidArgument)
	}
	b := t.Buffer()
	if b == nil {
		return nil, 0, fmt.Errorf("tensor %s%v has no device buffer: %w", t.DType(), t.Shape(), runtime.ErrInvalidArgument)
	}
	size := int64(t.DType().Size())
	if t.Offset()%size != 0 {
		return nil, 0, fmt.Errorf("tensor %s%v at byte offset %d, not a multiple of its element size: %w", t.DType(), t.Shape(), t.Offset(), runtime.ErrUnsupported)
	}
	return b, t.Offset() / size, nil
}

// args expands tensors into (buffer, offset) argument pairs.
func args(ts ...*tensor.Tensor) ([]any, error) {
	out := make([]any, 0, 2*len(ts))
	for _, t := range ts {
		b, off, err := arg(t)
		if err != nil {
			return nil, err
		}
		out = append(out, b, off)
	}
	return out, nil
}

// maxRank is MAX_RANK of the prelude: the highest rank shape_t describes.
const maxRank = 8

// shapeT is the prelude's shape_t: an iteration space and up to three
// operands' strides over it, all int64 so that host and device agree on the
// layout.
type shapeT struct {
	rank       int
	dims       [maxRank]int64
	s0, s1, s2 [maxRank]int64
}

// bytes encodes the struct as the kernel argument.
func (s *shapeT) bytes() []byte {
	b := make([]byte, 0, 8*(1+4*maxRank))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.rank))
	for _, a := range [][maxRank]int64{s.dims, s.s0, s.s1, s.s2} {
		for _, v := range a {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// structBytes encodes a struct of int64 fields (conv_t, pool_t).
func structBytes(fields ...int64) []byte {
	b := make([]byte, 0, 8*len(fields))
	for _, v := range fields {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// contiguousStrides returns row-major strides (in elements) of a shape.
func contiguousStrides(shape tensor.Shape) []int64 {
	st := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= int64(shape[i])
	}
	return st
}

// broadcastStrides returns the strides of an input of shape in, broadcast
// (aligned at the right) to out: 0 along broadcast dimensions.
func broadcastStrides(in, out tensor.Shape) []int64 {
	st := make([]int64, len(out))
	cs := contiguousStrides(in)
	off := len(out) - len(in)
	for i := range in {
		if in[i] != 1 || out[off+i] == 1 {
			st[off+i] = cs[i]
		}
	}
	return st
}

// compact merges adjacent dimensions that every operand traverses
// contiguously, and drops dimensions of size 1, so that kernels decode as
// few indices as possible (and so that rank > MAX_RANK shapes often fit).
func compact(dims []int64, strides ...[]int64) ([]int64, [][]int64) {
	var od []int64
	os := make([][]int64, len(strides))
	for i, d := range dims {
		if d == 1 {
			continue
		}
		if n := len(od); n > 0 {
			merge := true
			for k := range strides {
				if os[k][n-1] != strides[k][i]*d {
					merge = false
					break
				}
			}
			if merge {
				od[n-1] *= d
				for k := range strides {
					os[k][n-1] = strides[k][i]
				}
				continue
			}
		}
		od = append(od, d)
		for k := range strides {
			os[k] = append(os[k], strides[k][i])
		}
	}
	return od, os
}

// newShapeT packs dims and up to three stride lists, compacted.
func newShapeT(dims []int64, strides ...[]int64) (*shapeT, error) {
	d, st := compact(dims, strides...)
	if len(d) > maxRank {
		return nil, fmt.Errorf("rank %d after merging dimensions, kernels take up to %d: %w", len(d), maxRank, runtime.ErrUnsupported)
	}
	s := &shapeT{rank: len(d)}
	copy(s.dims[:], d)
	for k, sl := range st {
		switch k {
		case 0:
			copy(s.s0[:], sl)
		case 1:
			copy(s.s1[:], sl)
		case 2:
			copy(s.s2[:], sl)
		}
	}
	return s, nil
}

func dims64(s tensor.Shape) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}

// group is the work-group size of one-dimensional launches.
const group = 64

// launch1D runs k over n work items, rounded up to whole groups (kernels
// check the bound).
func launch1D(s runtime.Stream, k *clrt.Kernel, n int64, kargs ...any) error {
	if n == 0 {
		return nil
	}
	g := int64(group)
	if int64(k.MaxWorkGroupSize()) < g {
		g = 1
	}
	global := (n + g - 1) / g * g
	return s.Launch(clrt.Launch{Kernel: k, Global: []int{int(global)}, Local: []int{int(g)}, Args: kargs})
}

// launchGroups runs k with one work group of wg items per group index.
func launchGroups(s runtime.Stream, k *clrt.Kernel, groups int64, wg int, kargs ...any) error {
	if groups == 0 {
		return nil
	}
	return s.Launch(clrt.Launch{Kernel: k, Global: []int{int(groups) * wg}, Local: []int{wg}, Args: kargs})
}

// needGroup reports ErrUnsupported when k cannot run work groups of n.
func needGroup(k *clrt.Kernel, n int) error {
	if k.MaxWorkGroupSize() < n {
		return fmt.Errorf("kernel %s needs work groups of %d, the device allows %d: %w", k.Name(), n, k.MaxWorkGroupSize(), runtime.ErrUnsupported)
	}
	return nil
}

// errFlag is a device int that kernels set when their input is invalid
// (an index out of range, an integer division by zero); check reads it back
// after them and turns it into a stream error. Kernels with nothing to
// report get a zero-byte buffer (a NULL pointer they never touch).
type errFlag struct {
	buf  runtime.Buffer
	host []byte
}

func newErrFlag(s runtime.Stream, live bool) (*errFlag, error) {
	n := int64(0)
	if live {
		n = 4
	}
	b, err := s.Device().Alloc(n)
	if err != nil {
		return nil, err
	}
	f := &errFlag{buf: b, host: make([]byte, n)}
	if live {
		if err := s.CopyToDevice(b, 0, f.host); err != nil {
			b.Free()
			return nil, err
		}
	}
	return f, nil
}

// check enqueues the read-back and the test, which frees the flag.
func (f *errFlag) check(s runtime.Stream, what string) error {
	if len(f.host) == 0 {
		return f.buf.Free()
	}
	if err := s.CopyToHost(f.host, f.buf, 0); err != nil {
		f.buf.Free()
		return err
	}
	return s.HostFunc(func() error {
		f.buf.Free()
		if binary.LittleEndian.Uint32(f.host) != 0 {
			return fmt.Errorf("%s: %w", what, ops.ErrInvalidNode)
		}
		return nil
	})
}

// kernelFunc is a device kernel without the checks guard adds.
type kernelFunc func(s runtime.Stream, in, out []*tensor.Tensor) error

// guard wraps a kernel with the checks that keep a device kernel from
// reading or writing outside its tensors: every input and output must have
// the type and shape the node was prepared for, and live on the stream's
// device. skip lists inputs the kernel does not read (value inputs, whose
// contents it took when prepared), which may be anywhere.
func guard(n *ops.Node, plan *ops.Plan, k kernelFunc, skip ...int) ops.DeviceKernel {
	inputs := make([]ops.Type, len(n.Inputs))
	for i, t := range n.Inputs {
		inputs[i] = ops.Type{Kind: t.Kind, DType: t.DType, Shape: t.Shape.Clone()}
	}
	outputs := make([]ops.Type, len(plan.Outputs))
	copy(outputs, plan.Outputs)
	label := n.OpType
	if n.Name != "" {
		label += " " + n.Name
	}
	return func(ctx context.Context, s runtime.Stream, in, out []*tensor.Tensor) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(in) != len(inputs) || len(out) != len(outputs) {
			return fmt.Errorf("%s: %d inputs and %d outputs, prepared for %d and %d: %w", label, len(in), len(out), len(inputs), len(outputs), runtime.ErrInvalidArgument)
		}
		dev := s.Device()
		check := func(what string, i int, t *tensor.Tensor, want ops.Type, onDevice bool) error {
			if !want.Present() {
				if t != nil {
					return fmt.Errorf("%s: %s %d given but absent when prepared: %w", label, what, i, runtime.ErrInvalidArgument)
				}
				return nil
			}
			if t == nil {
				return fmt.Errorf("%s: %s %d missing: %w", label, what, i, runtime.ErrInvalidArgument)
			}
			if t.DType() != want.DType || !t.Shape().Equal(want.Shape) {
				return fmt.Errorf("%s: %s %d is %s%v, prepared for %s%v: %w", label, what, i, t.DType(), t.Shape(), want.DType, want.Shape, runtime.ErrInvalidArgument)
			}
			if onDevice && t.Device() != dev {
				return fmt.Errorf("%s: %s %d is not on %s: %w", label, what, i, dev.Properties().ID(), runtime.ErrInvalidArgument)
			}
			return nil
		}
		for i, t := range in {
			if err := check("input", i, t, inputs[i], !contains(skip, i)); err != nil {
				return err
			}
		}
		for i, t := range out {
			if err := check("output", i, t, outputs[i], true); err != nil {
				return err
			}
		}
		if err := k(s, in, out); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		return nil
	}
}

// viewGuard is guard for View plans: outputs are nil on entry.
func viewGuard(n *ops.Node, plan *ops.Plan, k kernelFunc) ops.DeviceKernel {
	unread := make([]int, 0, len(n.Inputs))
	for i := 1; i < len(n.Inputs); i++ {
		unread = append(unread, i)
	}
	g := guard(n, &ops.Plan{}, func(s runtime.Stream, in, _ []*tensor.Tensor) error { return nil }, unread...)
	want := len(plan.Outputs)
	return func(ctx context.Context, s runtime.Stream, in, out []*tensor.Tensor) error {
		if err := g(ctx, s, in, nil); err != nil {
			return err
		}
		if len(out) != want {
			return fmt.Errorf("%s: %d outputs, prepared for %d: %w", n.OpType, len(out), want, runtime.ErrInvalidArgument)
		}
		return k(s, in, out)
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// unsupported is a capability-check failure: the node stays on the CPU.
func unsupported(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), runtime.ErrUnsupported)
}

// floatOnly accepts float32, and float64 on devices with fp64.
func floatOnly(dev *clrt.Device, dt tensor.DType) error {
	switch dt {
	case tensor.Float32:
		return nil
	case tensor.Float64:
		if dev.Properties().HasFeature("fp64") {
			return nil
		}
	}
	return unsupported("element type %s", dt)
}

// normAxis resolves a possibly negative axis for a rank.
func normAxis(axis int64, rank int) (int, error) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(max(rank, 1)) {
		return 0, unsupported("axis %d for rank %d", axis, rank)
	}
	return int(axis), nil
}
