package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Element-wise float32 kernels. Every one walks n elements four vectors at
// a time, then one vector, then a masked tail (AVX-512 opmask, AVX2
// VMASKMOVPS), so it never touches memory past element n-1 and the Go side
// needs no tail loop.

// binOp is an arithmetic operation dst = a op b (Go assembler operand
// order: the instruction takes b, a, dst).
type binOp struct {
	name string
	emit func(b Op, a, dst VecPhysical)
}

var binOps = []binOp{
	{"add", func(b Op, a, d VecPhysical) { VADDPS(b, a, d) }},
	{"sub", func(b Op, a, d VecPhysical) { VSUBPS(b, a, d) }},
	{"mul", func(b Op, a, d VecPhysical) { VMULPS(b, a, d) }},
	{"div", func(b Op, a, d VecPhysical) { VDIVPS(b, a, d) }},
}

// stream is one input of an element-wise loop: a pointer walked with the
// index, or a vector register holding a broadcast scalar.
type stream struct {
	ptr Register    // nil for a scalar
	vec VecPhysical // the scalar's register
}

// elementwise emits the loop: for each block of vectors, load the pointer
// inputs (the first may be used straight from memory by op when it is the
// second operand, which the op decides), compute into the output register
// and store it at dst. op gets, per vector, the input operands in order
// (memory or register) and the output register.
func elementwise(s isa, name string, n, dst Register, ins []stream, op func(in []Op, out VecPhysical)) {
	L := s.lanes
	vb := 4 * L
	i := GP64()
	XORQ(i, i)
	rem := GP64()
	outs := []VecPhysical{s.vec(0), s.vec(1), s.vec(2), s.vec(3)}
	// Registers for masked loads, two per vector.
	loadRegs := []VecPhysical{s.vec(4), s.vec(5), s.vec(6), s.vec(7), s.vec(8), s.vec(9), s.vec(10), s.vec(11)}
	mask := s.vec(12)
	block := func(nv int, tail bool) {
		for v := 0; v < nv; v++ {
			var ops []Op
			for k, in := range ins {
				if in.ptr == nil {
					ops = append(ops, in.vec)
					continue
				}
				m := Mem{Base: in.ptr, Index: i, Scale: 4, Disp: v * vb}
				switch {
				case !tail:
					ops = append(ops, m)
				case s.lanes == 16:
					r := loadRegs[2*v+k]
					VMOVUPS_Z(m, K1, r)
					ops = append(ops, r)
				default:
					r := loadRegs[2*v+k]
					VMASKMOVPS(m, mask, r)
					ops = append(ops, r)
				}
			}
			op(ops, outs[v])
		}
		for v := 0; v < nv; v++ {
			m := Mem{Base: dst, Index: i, Scale: 4, Disp: v * vb}
			switch {
			case !tail:
				VMOVUPS(outs[v], m)
			case s.lanes == 16:
				VMOVUPS(outs[v], K1, m)
			default:
				VMASKMOVPS(outs[v], mask, m)
			}
		}
	}
	Label(name + "_loop4")
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(4*L))
	JL(LabelRef(name + "_loop1"))
	block(4, false)
	ADDQ(U32(4*L), i)
	JMP(LabelRef(name + "_loop4"))
	Label(name + "_loop1")
	CMPQ(rem, U32(L))
	JL(LabelRef(name + "_tail"))
	block(1, false)
	ADDQ(U32(L), i)
	SUBQ(U32(L), rem)
	JMP(LabelRef(name + "_loop1"))
	Label(name + "_tail")
	TESTQ(rem, rem)
	JZ(LabelRef(name + "_done"))
	if s.lanes == 16 {
		tailMask(rem)
	} else {
		laneMask(rem, mask)
	}
	block(1, true)
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// toReg returns o as a register, loading it into tmp when it is memory.
func toReg(o Op, tmp VecPhysical) VecPhysical {
	if r, ok := o.(VecPhysical); ok {
		return r
	}
	VMOVUPS(o, tmp)
	return tmp
}

// binaryKernels generates, for each arithmetic op, the forms
//
//	func opVV<ISA>(dst, a, b *float32, n int)   dst[i] = a[i] op b[i]
//	func opVS<ISA>(dst, a *float32, s float32, n int)   dst[i] = a[i] op s
//	func opSV<ISA>(dst *float32, s float32, b *float32, n int)   dst[i] = s op b[i]
func binaryKernels(s isa) {
	tmp := s.vec(13)
	for _, o := range binOps {
		name := fmt.Sprintf("%sVV%s", o.name, s.name)
		TEXT(name, NOSPLIT, "func(dst, a, b *float32, n int)")
		Pragma("noescape")
		Doc(fmt.Sprintf("%s sets dst[i] = a[i] %s b[i] for i < n.", name, o.name))
		dst := Load(Param("dst"), GP64())
		a := Load(Param("a"), GP64())
		b := Load(Param("b"), GP64())
		n := Load(Param("n"), GP64())
		elementwise(s, name, n, dst, []stream{{ptr: a}, {ptr: b}}, func(in []Op, out VecPhysical) {
			o.emit(in[1], toReg(in[0], out), out)
		})

		name = fmt.Sprintf("%sVS%s", o.name, s.name)
		TEXT(name, NOSPLIT, "func(dst, a *float32, s float32, n int)")
		Pragma("noescape")
		Doc(fmt.Sprintf("%s sets dst[i] = a[i] %s s for i < n.", name, o.name))
		dst = Load(Param("dst"), GP64())
		a = Load(Param("a"), GP64())
		n = Load(Param("n"), GP64())
		sv := s.vec(14)
		broadcastParam("s", sv)
		elementwise(s, name, n, dst, []stream{{ptr: a}, {vec: sv}}, func(in []Op, out VecPhysical) {
			o.emit(in[1], toReg(in[0], out), out)
		})

		if o.name == "add" || o.name == "mul" {
			continue // commutative: SV is VS
		}
		name = fmt.Sprintf("%sSV%s", o.name, s.name)
		TEXT(name, NOSPLIT, "func(dst *float32, s float32, b *float32, n int)")
		Pragma("noescape")
		Doc(fmt.Sprintf("%s sets dst[i] = s %s b[i] for i < n.", name, o.name))
		dst = Load(Param("dst"), GP64())
		b = Load(Param("b"), GP64())
		n = Load(Param("n"), GP64())
		broadcastParam("s", sv)
		elementwise(s, name, n, dst, []stream{{vec: sv}, {ptr: b}}, func(in []Op, out VecPhysical) {
			o.emit(in[1], sv, out)
		})
	}
	_ = tmp

	// clip: dst[i] = min(max(a[i], lo), hi), NaN kept (the operand that
	// is returned when either is NaN is the data).
	name := "clip" + s.name
	TEXT(name, NOSPLIT, "func(dst, a *float32, lo, hi float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = min(max(a[i], lo), hi) for i < n; NaN stays NaN.", name))
	dst := Load(Param("dst"), GP64())
	a := Load(Param("a"), GP64())
	n := Load(Param("n"), GP64())
	lo, hi := s.vec(14), s.vec(15)
	broadcastParam("lo", lo)
	broadcastParam("hi", hi)
	elementwise(s, name, n, dst, []stream{{ptr: a}}, func(in []Op, out VecPhysical) {
		x := toReg(in[0], out)
		VMAXPS(x, lo, out)
		VMINPS(out, hi, out)
	})

	name = "sqrt" + s.name
	TEXT(name, NOSPLIT, "func(dst, a *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[i] = sqrt(a[i]) for i < n (correctly rounded).", name))
	dst = Load(Param("dst"), GP64())
	a = Load(Param("a"), GP64())
	n = Load(Param("n"), GP64())
	elementwise(s, name, n, dst, []stream{{ptr: a}}, func(in []Op, out VecPhysical) {
		VSQRTPS(in[0], out)
	})
}

// broadcastParam loads float32 parameter name into every lane of v.
func broadcastParam(name string, v VecPhysical) {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(p.Addr, v)
}
