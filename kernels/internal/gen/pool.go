package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxRow generates
//
//	func maxRowISA(y *float32, n int, x *float32, offs *int, taps int)
//
// y[i] = max over t of x[offs[t]+i] for i < n, taps >= 1, each step
// acc = v > acc ? v : acc, so a NaN in the first tap stays and later ones
// are passed over (as the scalar code in kernels): one output row of a max
// pooling, taps as in dwRow. Four vectors of columns at a
// time, then one (two accumulators over alternate taps), then a masked
// tail.
func maxRow(s isa) {
	name := "maxRow" + s.name
	TEXT(name, NOSPLIT, "func(y *float32, n int, x *float32, offs *int, taps int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one output row of a max pooling (see package gen).", name))
	L := s.lanes
	vb := 4 * L
	acc := []VecPhysical{s.vec(0), s.vec(1), s.vec(2), s.vec(3)}
	acc2 := []VecPhysical{s.vec(4), s.vec(5), s.vec(6), s.vec(7)}
	tmp, tmp2, mask := s.vec(8), s.vec(9), s.vec(10)

	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	x := Load(Param("x"), GP64())
	offs := Load(Param("offs"), GP64())
	taps := Load(Param("taps"), GP64())
	i, rem, t, op, p, p2 := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(i, i)

	block := func(nv int, tail bool) {
		lbl := fmt.Sprintf("%s_b%d", name, nv)
		if tail {
			lbl = name + "_btail"
		}
		load := func(p Register, v int, dst VecPhysical) VecPhysical {
			src := Mem{Base: x, Index: p, Scale: 4, Disp: v * vb}
			switch {
			case !tail:
				VMOVUPS(src, dst)
			case s.lanes == 16:
				VMOVUPS_Z(src, K1, dst)
			default:
				VMASKMOVPS(src, mask, dst)
			}
			return dst
		}
		// The first tap initialises both accumulators.
		MOVQ(Mem{Base: offs}, p)
		ADDQ(i, p)
		for v := 0; v < nv; v++ {
			load(p, v, acc[v])
			VMOVAPS(acc[v], acc2[v])
		}
		MOVQ(taps, t)
		DECQ(t)
		LEAQ(Mem{Base: offs, Disp: 8}, op)
		CMPQ(t, Imm(2))
		JL(LabelRef(lbl + "_one"))
		Label(lbl)
		MOVQ(Mem{Base: op}, p)
		ADDQ(i, p)
		MOVQ(Mem{Base: op, Disp: 8}, p2)
		ADDQ(i, p2)
		// Intel order max(tap, acc): acc where either is NaN.
		for v := 0; v < nv; v++ {
			VMAXPS(acc[v], load(p, v, tmp), acc[v])
			VMAXPS(acc2[v], load(p2, v, tmp2), acc2[v])
		}
		ADDQ(Imm(16), op)
		SUBQ(Imm(2), t)
		CMPQ(t, Imm(2))
		JGE(LabelRef(lbl))
		Label(lbl + "_one")
		TESTQ(t, t)
		JZ(LabelRef(lbl + "_store"))
		MOVQ(Mem{Base: op}, p)
		ADDQ(i, p)
		for v := 0; v < nv; v++ {
			VMAXPS(acc[v], load(p, v, tmp), acc[v])
		}
		Label(lbl + "_store")
		for v := 0; v < nv; v++ {
			VMAXPS(acc[v], acc2[v], acc[v])
			dst := Mem{Base: y, Index: i, Scale: 4, Disp: v * vb}
			switch {
			case !tail:
				VMOVUPS(acc[v], dst)
			case s.lanes == 16:
				VMOVUPS(acc[v], K1, dst)
			default:
				VMASKMOVPS(acc[v], mask, dst)
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
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(L))
	JL(LabelRef(name + "_tail"))
	block(1, false)
	ADDQ(U32(L), i)
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

// deint2 generates func deint2<ISA>(even, odd, src *float32, n int):
// even[i] = src[2i], odd[i] = src[2i+1] for i < n rounded down to the
// vector width (AVX2; the caller does the rest), or for every i < n
// (AVX-512, the last pairs under masks): the column phases of a stride-2
// window, in one pass.
func deint2(s isa) {
	name := "deint2" + s.name
	TEXT(name, NOSPLIT, "func(even, odd, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s splits src into its even and odd elements, n rounded down to a vector (see package gen).", name))
	even := Load(Param("even"), GP64())
	odd := Load(Param("odd"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	L := s.lanes
	vb := 4 * L
	a, b, e, o := s.vec(0), s.vec(1), s.vec(2), s.vec(3)
	var ie, io VecPhysical
	if s.lanes == 16 {
		ie, io = s.vec(4), s.vec(5)
		tb := GP64()
		LEAQ(deintTable, tb)
		VMOVUPS(Mem{Base: tb}, ie)
		VMOVUPS(Mem{Base: tb, Disp: 64}, io)
	}
	Label(name + "_loop")
	CMPQ(n, U32(L))
	JL(LabelRef(name + "_done"))
	VMOVUPS(Mem{Base: src}, a)
	VMOVUPS(Mem{Base: src, Disp: vb}, b)
	if s.lanes == 16 {
		VMOVAPS(ie, e)
		VPERMI2PS(b, a, e)
		VMOVAPS(io, o)
		VPERMI2PS(b, a, o)
	} else {
		VSHUFPS(Imm(0x88), b, a, e) // per lane a0 a2 b0 b2
		VPERMPD(Imm(0xd8), e, e)    // lanes in order
		VSHUFPS(Imm(0xdd), b, a, o) // a1 a3 b1 b3
		VPERMPD(Imm(0xd8), o, o)
	}
	VMOVUPS(e, Mem{Base: even})
	VMOVUPS(o, Mem{Base: odd})
	ADDQ(U32(2*vb), src)
	ADDQ(U32(vb), even)
	ADDQ(U32(vb), odd)
	SUBQ(U32(L), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	if s.lanes == 16 {
		// The last n < 16 pairs: outputs under K1, the 2n sources
		// under K2 (first vector) and K3 (second).
		TESTQ(n, n)
		JZ(LabelRef(name + "_end"))
		tailMask(n)
		m, c := GP64(), GP64()
		MOVQ(U32(1), m)
		LEAQ(Mem{Base: n, Index: n, Scale: 1}, c)
		SHLXQ(c, m, m)
		DECQ(m)
		KMOVW(m.As32(), K2)
		SHRQ(U8(16), m)
		KMOVW(m.As32(), K3)
		VMOVUPS_Z(Mem{Base: src}, K2, a)
		VMOVUPS_Z(Mem{Base: src, Disp: vb}, K3, b)
		VMOVAPS(ie, e)
		VPERMI2PS(b, a, e)
		VMOVAPS(io, o)
		VPERMI2PS(b, a, o)
		VMOVUPS(e, K1, Mem{Base: even})
		VMOVUPS(o, K1, Mem{Base: odd})
		Label(name + "_end")
	}
	VZEROUPPER()
	RET()
}

// deintTable holds VPERMI2PS's indices: 0, 2, ..., 30 then 1, 3, ..., 31.
var deintTable Mem

func deintTables() {
	deintTable = GLOBL("deint", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		// Entry i: 2i in the first half, 2(i-16)+1 in the second.
		v := 2 * i
		if i >= 16 {
			v = 2*(i-16) + 1
		}
		DATA(4*i, U32(uint32(v)))
	}
}
