package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dwRowShift generates, for AVX-512 and a kernel width kw,
//
//	func dwRowK<kw>AVX512(y *float32, n int, x *float32, rowOffs *int, w *float32, kh int, bias, lo, hi float32)
//
// y[i] = min(max(bias + Σ_r Σ_c w[r·kw+c]·x[rowOffs[r]+i+c], lo), hi) for
// i < n: dwRow for a stride-1, undilated window, whose kw taps of a row
// read the same source shifted by one element each. Instead of one
// unaligned load per tap (most of them crossing a cache line, which made
// dwRow load-bound), each window row loads its source once and makes the
// shifted vectors with VALIGND. Eight vectors of outputs at a time (eight
// independent sums), then four, two, one, then a masked tail; sources are read under
// masks past what the outputs need, so nothing beyond x[rowOffs[r]+n-1+kw-1]
// is touched.
func dwRowShift(kw int) {
	s := avx512
	L := s.lanes
	vb := 4 * L
	name := fmt.Sprintf("dwRowK%d%s", kw, s.name)
	TEXT(name, NOSPLIT, "func(y *float32, n int, x *float32, rowOffs *int, w *float32, kh int, bias, lo, hi float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one output row of a stride-1 depthwise convolution %d taps wide (see package gen).", name, kw))
	const nvMax = 8
	acc := func(j int) VecPhysical { return s.vec(j) }     // 0..7
	src := func(j int) VecPhysical { return s.vec(8 + j) } // 8..16
	wb, tmp := s.vec(17), s.vec(18)
	vlo, vhi, vbias := s.vec(19), s.vec(20), s.vec(21)

	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	x := Load(Param("x"), GP64())
	ro := Load(Param("rowOffs"), GP64())
	w := Load(Param("w"), GP64())
	kh := Load(Param("kh"), GP64())
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
	// K3: the kw-1 lanes of the extra source vector a full block needs.
	m := GP64()
	MOVQ(U32((1<<(kw-1))-1), m)
	KMOVW(m.As32(), K3)

	i, rem, r, op, wp, p := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(i, i)

	// block computes nv vectors of outputs at element i; with tail, the
	// first rem lanes of one vector (K1), its sources under K1|K2.
	block := func(nv int, tail bool) {
		lbl := fmt.Sprintf("%s_rows%d", name, nv)
		if tail {
			lbl += "t"
		}
		for j := 0; j < nv; j++ {
			VMOVAPS(vbias, acc(j))
		}
		MOVQ(kh, r)
		MOVQ(ro, op)
		MOVQ(w, wp)
		Label(lbl)
		MOVQ(Mem{Base: op}, p)
		ADDQ(i, p)
		for j := 0; j <= nv; j++ {
			at := Mem{Base: x, Index: p, Scale: 4, Disp: j * vb}
			switch {
			case tail && j == 0:
				VMOVUPS_Z(at, K4, src(j))
			case tail:
				VMOVUPS_Z(at, K5, src(j))
			case j == nv:
				VMOVUPS_Z(at, K3, src(j))
			default:
				VMOVUPS(at, src(j))
			}
		}
		for c := 0; c < kw; c++ {
			VBROADCASTSS(Mem{Base: wp, Disp: 4 * c}, wb)
			for j := 0; j < nv; j++ {
				if c == 0 {
					VFMADD231PS(src(j), wb, acc(j))
					continue
				}
				// Lanes c.. of src(j), then the first c of src(j+1).
				VALIGND(Imm(uint64(c)), src(j), src(j+1), tmp)
				VFMADD231PS(tmp, wb, acc(j))
			}
		}
		ADDQ(U8(8), op)
		ADDQ(U8(4*kw), wp)
		DECQ(r)
		JNZ(LabelRef(lbl))
		for j := 0; j < nv; j++ {
			VMAXPS(acc(j), vlo, acc(j))
			VMINPS(acc(j), vhi, acc(j))
			dst := Mem{Base: y, Index: i, Scale: 4, Disp: j * vb}
			if tail {
				VMOVUPS(acc(j), K1, dst)
			} else {
				VMOVUPS(acc(j), dst)
			}
		}
	}

	TESTQ(kh, kh)
	JZ(LabelRef(name + "_done")) // the caller handles rows without taps
	Label(name + "_loop8")
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(nvMax*L))
	JL(LabelRef(name + "_loop4"))
	block(nvMax, false)
	ADDQ(U32(nvMax*L), i)
	JMP(LabelRef(name + "_loop8"))

	for _, nv := range []int{4, 2} {
		Label(fmt.Sprintf("%s_loop%d", name, nv))
		MOVQ(n, rem)
		SUBQ(i, rem)
		CMPQ(rem, U32(nv*L))
		JL(LabelRef(fmt.Sprintf("%s_loop%d", name, nv/2)))
		block(nv, false)
		ADDQ(U32(nv*L), i)
	}
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
	// K1: rem output lanes; the sources rem+kw-1 lanes over two vectors:
	// K4 the first 16 of them, K5 the rest.
	tailMask(rem)
	MOVQ(U32(1), m)
	LEAQ(Mem{Base: rem, Disp: kw - 1}, r)
	SHLXQ(r, m, m)
	DECQ(m)
	KMOVW(m.As32(), K4)
	SHRQ(U8(16), m)
	KMOVW(m.As32(), K5)
	block(1, true)

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
