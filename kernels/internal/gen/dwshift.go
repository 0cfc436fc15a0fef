package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dwRowShift generates, for AVX-512, a kernel width kw and a stride st
// (1 or 2),
//
//	func dwRowK<kw>[S2]AVX512(y *float32, n int, x *float32, rowOffs *int, w *float32, kh, phase int, bias, lo, hi float32)
//
// y[i] = min(max(bias + Σ_r Σ_c w[r·kw+c]·x[rowOffs[r] + (c%st)·phase +
// c/st + i], lo), hi) for i < n: dwRow for an undilated window whose taps
// of one window row read st phase rows (phase elements apart; stride 2
// splits the even and odd columns) shifted by whole elements. Instead of one
// unaligned load per tap (most of them crossing a cache line, which made
// dwRow load-bound), each window row loads its source once and makes the
// shifted vectors with VALIGND. Eight vectors of outputs at a time (eight
// independent sums), then four, two, one, then a masked tail; sources are read under
// masks past what the outputs need, so nothing beyond x[rowOffs[r]+n-1+kw-1]
// is touched.
func dwRowShift(kw, st int) {
	s := avx512
	L := s.lanes
	vb := 4 * L
	name := fmt.Sprintf("dwRowK%d%s", kw, s.name)
	if st == 2 {
		name = fmt.Sprintf("dwRowK%dS2%s", kw, s.name)
	}
	TEXT(name, NOSPLIT, "func(y *float32, n int, x *float32, rowOffs *int, w *float32, kh int, phase int, bias, lo, hi float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes one output row of a stride-%d depthwise convolution %d taps wide (see package gen).", name, st, kw))
	// shiftOf[q]: the largest shift of phase q's taps.
	shiftOf := make([]int, st)
	for c := 0; c < kw; c++ {
		shiftOf[c%st] = c / st
	}
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
	phase := Load(Param("phase"), GP64())
	SHLQ(U8(2), phase)
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
	// K3 (phase 0) and K6 (phase 1): the lanes of the extra source
	// vector a full block needs.
	m := GP64()
	kFull := []Register{K3, K6}
	for q := 0; q < st; q++ {
		MOVQ(U32((1<<shiftOf[q])-1), m)
		KMOVW(m.As32(), kFull[q])
	}

	i, rem, r, op, wp, p := GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	tailK := [2][2]Register{{K4, K5}, {K7, K2}}
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
		base := GP64()
		LEAQ(Mem{Base: x, Index: p, Scale: 4}, base)
		for q := 0; q < st; q++ {
			if q > 0 {
				ADDQ(phase, base)
			}
			sh := shiftOf[q]
			for j := 0; j <= nv; j++ {
				at := Mem{Base: base, Disp: j * vb}
				switch {
				case j == nv && sh == 0:
					// not needed
				case tail && j == 0:
					VMOVUPS_Z(at, tailK[q][0], src(j))
				case tail:
					VMOVUPS_Z(at, tailK[q][1], src(j))
				case j == nv:
					VMOVUPS_Z(at, kFull[q], src(j))
				default:
					VMOVUPS(at, src(j))
				}
			}
			for c := 0; c <= sh; c++ {
				VBROADCASTSS(Mem{Base: wp, Disp: 4 * (q + st*c)}, wb)
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
	// K1: rem output lanes; phase q's sources rem+shift lanes over two
	// vectors: the first 16 of them, then the rest (tailK).
	tailMask(rem)
	for q := 0; q < st; q++ {
		MOVQ(U32(1), m)
		LEAQ(Mem{Base: rem, Disp: shiftOf[q]}, r)
		SHLXQ(r, m, m)
		DECQ(m)
		KMOVW(m.As32(), tailK[q][0])
		SHRQ(U8(16), m)
		KMOVW(m.As32(), tailK[q][1])
	}
	block(1, true)

	Label(name + "_done")
	VZEROUPPER()
	RET()
}
