package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Row kernels of layer normalization (kernels.LayerNorm): with a row in L1
// the normalization is three passes over it, each of which the scalar Go
// took longer over than the surrounding matrix products' epilogues.
//
//	rowSumISA(x *float32, n int) float32                  Σ x[i]
//	rowSqDevISA(x *float32, n int, mean float32) float32  Σ (x[i]-mean)²
//	rowNormISA(y, x *float32, n int, mean, inv float32, gamma, beta *float32)
//	                                 y[i] = (x[i]-mean)·inv·gamma[i] + beta[i]
//
// Two accumulators of one vector each, then a masked tail; the sums are in
// float32, lane-wise, then across lanes.
func layerNormKernels(s isa) {
	L := s.lanes
	vb := 4 * L
	// rowLoop emits the loop over x (in GP register x, n elements in n):
	// body(v, disp, tail) for each vector, two per iteration.
	rowLoop := func(name string, x, n Register, body func(off Register, disp int, tail bool)) {
		i, rem := GP64(), GP64()
		XORQ(i, i)
		Label(name + "_two")
		MOVQ(n, rem)
		SUBQ(i, rem)
		CMPQ(rem, U32(2*L))
		JL(LabelRef(name + "_one"))
		body(i, 0, false)
		body(i, vb, false)
		ADDQ(U32(2*L), i)
		JMP(LabelRef(name + "_two"))
		Label(name + "_one")
		CMPQ(rem, U32(L))
		JL(LabelRef(name + "_tail"))
		body(i, 0, false)
		ADDQ(U32(L), i)
		SUBQ(U32(L), rem)
		Label(name + "_tail")
		TESTQ(rem, rem)
		JZ(LabelRef(name + "_end"))
		if s.lanes == 16 {
			tailMask(rem)
		} else {
			laneMask(rem, s.vec(15))
		}
		body(i, 0, true)
		Label(name + "_end")
	}
	load := func(m Mem, tail bool, dst VecPhysical) {
		switch {
		case !tail:
			VMOVUPS(m, dst)
		case s.lanes == 16:
			VMOVUPS_Z(m, K1, dst)
		default:
			VMASKMOVPS(m, s.vec(15), dst)
		}
	}
	store := func(v VecPhysical, m Mem, tail bool) {
		switch {
		case !tail:
			VMOVUPS(v, m)
		case s.lanes == 16:
			VMOVUPS(v, K1, m)
		default:
			VMASKMOVPS(v, s.vec(15), m)
		}
	}
	acc0, acc1, t, mv := s.vec(0), s.vec(1), s.vec(2), s.vec(3)

	// rowSum
	name := "rowSum" + s.name
	TEXT(name, NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s returns the sum of x[:n] (see package gen).", name))
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	rowLoop(name, x, n, func(i Register, disp int, tail bool) {
		a := acc0
		if disp != 0 {
			a = acc1
		}
		load(Mem{Base: x, Index: i, Scale: 4, Disp: disp}, tail, t)
		VADDPS(t, a, a)
	})
	VADDPS(acc1, acc0, acc0)
	hsum(s, acc0, acc1)
	Store(acc0.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()

	// rowSqDev
	name = "rowSqDev" + s.name
	TEXT(name, NOSPLIT, "func(x *float32, n int, mean float32) float32")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s returns the sum of (x[i]-mean)² over x[:n] (see package gen).", name))
	x = Load(Param("x"), GP64())
	n = Load(Param("n"), GP64())
	mean, _ := Param("mean").Resolve()
	VBROADCASTSS(mean.Addr, mv)
	VXORPS(acc0, acc0, acc0)
	VXORPS(acc1, acc1, acc1)
	rowLoop(name, x, n, func(i Register, disp int, tail bool) {
		a := acc0
		if disp != 0 {
			a = acc1
		}
		load(Mem{Base: x, Index: i, Scale: 4, Disp: disp}, tail, t)
		VSUBPS(mv, t, t)
		if tail {
			// Masked-off lanes hold 0 - mean: clear them again.
			if s.lanes == 16 {
				VMOVAPS_Z(t, K1, t)
			} else {
				VANDPS(s.vec(15), t, t)
			}
		}
		VFMADD231PS(t, t, a)
	})
	VADDPS(acc1, acc0, acc0)
	hsum(s, acc0, acc1)
	Store(acc0.AsX(), ReturnIndex(0))
	VZEROUPPER()
	RET()

	// rowNorm
	name = "rowNorm" + s.name
	TEXT(name, NOSPLIT, "func(y *float32, x *float32, n int, mean float32, inv float32, gamma *float32, beta *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets y[i] = (x[i]-mean)·inv·gamma[i] + beta[i] for i < n (see package gen).", name))
	y := Load(Param("y"), GP64())
	x = Load(Param("x"), GP64())
	n = Load(Param("n"), GP64())
	g := Load(Param("gamma"), GP64())
	b := Load(Param("beta"), GP64())
	mean, _ = Param("mean").Resolve()
	inv, _ := Param("inv").Resolve()
	iv := s.vec(4)
	VBROADCASTSS(mean.Addr, mv)
	VBROADCASTSS(inv.Addr, iv)
	gv, bv := s.vec(5), s.vec(6)
	rowLoop(name, x, n, func(i Register, disp int, tail bool) {
		v, gg, bb := t, gv, bv
		if disp != 0 {
			v, gg, bb = acc0, acc1, s.vec(7)
		}
		load(Mem{Base: x, Index: i, Scale: 4, Disp: disp}, tail, v)
		load(Mem{Base: g, Index: i, Scale: 4, Disp: disp}, tail, gg)
		load(Mem{Base: b, Index: i, Scale: 4, Disp: disp}, tail, bb)
		VSUBPS(mv, v, v)
		VMULPS(iv, v, v)
		VFMADD213PS(bb, gg, v) // v = v·gamma + beta
		store(v, Mem{Base: y, Index: i, Scale: 4, Disp: disp}, tail)
	})
	VZEROUPPER()
	RET()
}
