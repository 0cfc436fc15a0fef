package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Tail masks: maskTable16 holds (1<<r)-1 for r = 0..15 as uint16 (AVX-512
// opmasks), laneTable32 eight -1 then eight 0 as int32, so the 8 lanes at
// offset (8-r)*4 enable the first r (AVX2 VMASKMOVPS).
var maskTable16, laneTable32 Mem

func tables() {
	maskTable16 = GLOBL("tailmask16", RODATA|NOPTR)
	for r := 0; r < 16; r++ {
		DATA(2*r, U16((1<<r)-1))
	}
	laneTable32 = GLOBL("lanemask32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// tailMask sets K1 to the first rem (< 16) lanes.
func tailMask(rem Register) {
	tb := GP64()
	LEAQ(maskTable16, tb)
	KMOVW(Mem{Base: tb, Index: rem, Scale: 2}, K1)
}

// laneMask sets the AVX2 lane mask m to the first rem (< 8) lanes.
func laneMask(rem Register, m VecPhysical) {
	tb := GP64()
	LEAQ(laneTable32, tb)
	neg := GP64()
	MOVQ(U32(8), neg)
	SUBQ(rem, neg)
	VMOVUPS(Mem{Base: tb, Index: neg, Scale: 4}, m)
}

// dwRow generates
//
//	func dwRowISA(y *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)
//
// y[i] = min(max(bias + Σ_t w[t]·x[offs[t]+i], lo), hi) for i < n: one
// output row of a depthwise convolution, each tap t a contiguous source
// row (the caller splits strided inputs into phases). Columns go four
// vectors at a time, then one, then a masked tail, so nothing past y[n-1]
// or x[offs[t]+n-1] is touched. max(lo, ·) and min(hi, ·) keep NaN.
func dwRow(s isa) {
	name := "dwRow" + s.name
	TEXT(name, NOSPLIT, "func(y *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one output row of a depthwise convolution (see package gen).", name))
	L := s.lanes
	vb := 4 * L
	acc := []VecPhysical{s.vec(0), s.vec(1), s.vec(2), s.vec(3)}
	wv, vlo, vhi, vbias, tmp := s.vec(4), s.vec(5), s.vec(6), s.vec(7), s.vec(8)
	mask := s.vec(9) // AVX2 lane mask

	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	x := Load(Param("x"), GP64())
	offs := Load(Param("offs"), GP64())
	w := Load(Param("w"), GP64())
	taps := Load(Param("taps"), GP64())
	for _, p := range []struct {
		name string
		v    VecPhysical
	}{{"bias", vbias}, {"lo", vlo}, {"hi", vhi}} {
		a, err := Param(p.name).Resolve()
		if err != nil {
			panic(err)
		}
		VBROADCASTSS(a.Addr, p.v)
	}
	i := GP64() // element index
	XORQ(i, i)
	rem := GP64()
	t, op, wp, p := GP64(), GP64(), GP64(), GP64()

	// block computes nv vectors of outputs at element i (masked when
	// tail), then clamps and stores them. Taps go two at a time into two
	// accumulator sets (even and odd taps), so that the fused multiply-adds
	// of one vector form two dependency chains, not one.
	acc2 := []VecPhysical{s.vec(10), s.vec(11), s.vec(12), s.vec(13)}
	wv2, tmp2 := s.vec(14), s.vec(15)
	block := func(nv int, tail bool) {
		for v := 0; v < nv; v++ {
			VMOVAPS(vbias, acc[v])
			vxor(s, acc2[v], acc2[v], acc2[v])
		}
		MOVQ(taps, t)
		MOVQ(offs, op)
		MOVQ(w, wp)
		lbl := fmt.Sprintf("%s_taps%d", name, nv)
		if tail {
			lbl = name + "_tapstail"
		}
		fma := func(p Register, w VecPhysical, a []VecPhysical, tm VecPhysical) {
			for v := 0; v < nv; v++ {
				src := Mem{Base: x, Index: p, Scale: 4, Disp: v * vb}
				switch {
				case tail && s.lanes == 16:
					VMOVUPS_Z(src, K1, tm)
					VFMADD231PS(tm, w, a[v])
				case tail:
					VMASKMOVPS(src, mask, tm)
					VFMADD231PS(tm, w, a[v])
				default:
					VFMADD231PS(src, w, a[v])
				}
			}
		}
		p2 := GP64()
		CMPQ(t, Imm(2))
		JL(LabelRef(lbl + "_one"))
		Label(lbl)
		MOVQ(Mem{Base: op}, p)
		ADDQ(i, p)
		MOVQ(Mem{Base: op, Disp: 8}, p2)
		ADDQ(i, p2)
		VBROADCASTSS(Mem{Base: wp}, wv)
		VBROADCASTSS(Mem{Base: wp, Disp: 4}, wv2)
		fma(p, wv, acc, tmp)
		fma(p2, wv2, acc2, tmp2)
		ADDQ(Imm(16), op)
		ADDQ(Imm(8), wp)
		SUBQ(Imm(2), t)
		CMPQ(t, Imm(2))
		JGE(LabelRef(lbl))
		Label(lbl + "_one")
		TESTQ(t, t)
		JZ(LabelRef(lbl + "_sum"))
		MOVQ(Mem{Base: op}, p)
		ADDQ(i, p)
		VBROADCASTSS(Mem{Base: wp}, wv)
		fma(p, wv, acc, tmp)
		Label(lbl + "_sum")
		for v := 0; v < nv; v++ {
			VADDPS(acc2[v], acc[v], acc[v])
			VMAXPS(acc[v], vlo, acc[v])
			VMINPS(acc[v], vhi, acc[v])
			dst := Mem{Base: y, Index: i, Scale: 4, Disp: v * vb}
			switch {
			case tail && s.lanes == 16:
				VMOVUPS(acc[v], K1, dst)
			case tail:
				VMASKMOVPS(acc[v], mask, dst)
			default:
				VMOVUPS(acc[v], dst)
			}
		}
	}

	TESTQ(taps, taps)
	JZ(LabelRef(name + "_notaps"))
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

	// No taps: the row is the clamped bias.
	Label(name + "_notaps")
	VMAXPS(vbias, vlo, vbias)
	VMINPS(vbias, vhi, vbias)
	Label(name + "_notaps_loop")
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(L))
	JL(LabelRef(name + "_notaps_tail"))
	VMOVUPS(vbias, Mem{Base: y, Index: i, Scale: 4})
	ADDQ(U32(L), i)
	JMP(LabelRef(name + "_notaps_loop"))
	Label(name + "_notaps_tail")
	TESTQ(rem, rem)
	JZ(LabelRef(name + "_done"))
	if s.lanes == 16 {
		tailMask(rem)
		VMOVUPS(vbias, K1, Mem{Base: y, Index: i, Scale: 4})
	} else {
		laneMask(rem, mask)
		VMASKMOVPS(vbias, mask, Mem{Base: y, Index: i, Scale: 4})
	}
	JMP(LabelRef(name + "_done"))
}
