package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// skinnyVectors is the column width, in vectors, of the skinny kernel for
// m rows: as wide as the registers allow (accumulators plus the B row).
func skinnyVectors(s isa, m int) int {
	if s.lanes == 16 {
		if m <= 6 {
			return 4
		}
		return 3
	}
	if m <= 6 {
		return 2
	}
	return 1
}

// skinny generates, for m = 1..8 rows,
//
//	func skinny<m><ISA>(k int, a *float32, rs, ks int, b *float32, ldb int, t *float32)
//
// T = A·B for the m x k matrix A (element (r, p) at a[r*rs + p*ks]) and
// the k x NR block of B at b with row stride ldb (read in place, not
// packed), NR = skinnyVectors(m) vectors; T is stored m x NR, row stride
// NR. The products of few rows (transformer decoding, small batches) are
// limited by reading B, so B is streamed once, row by row, instead of
// being packed first. k >= 0.
func skinny(s isa, m int) {
	nv := skinnyVectors(s, m)
	L := s.lanes
	vb := 4 * L
	name := fmt.Sprintf("skinny%d%s", m, s.name)
	TEXT(name, NOSPLIT, "func(k int, a *float32, rs, ks int, b *float32, ldb int, t *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes a %d x %d block of A·B, B read in place (see package gen).", name, m, nv*L))
	acc := func(r, v int) VecPhysical { return s.vec(r*nv + v) }
	nacc := m * nv
	bv := func(v int) VecPhysical { return s.vec(nacc + v) }
	tmp := s.vec(nacc + nv)
	for i := 0; i < nacc; i++ {
		vxor(s, acc(i/nv, i%nv), acc(i/nv, i%nv), acc(i/nv, i%nv))
	}
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	rs := Load(Param("rs"), GP64())
	SHLQ(Imm(2), rs)
	ks := Load(Param("ks"), GP64())
	SHLQ(Imm(2), ks)
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(Imm(2), ldb)
	ar := newRows(a, rs, m)
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop")
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: b, Disp: v * vb}, bv(v))
	}
	for r := 0; r < m; r++ {
		VBROADCASTSS(ar.at(r, 0), tmp)
		for v := 0; v < nv; v++ {
			VFMADD231PS(bv(v), tmp, acc(r, v))
		}
	}
	ar.advance(ks)
	ADDQ(ldb, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_store")
	t := Load(Param("t"), GP64())
	for r := 0; r < m; r++ {
		for v := 0; v < nv; v++ {
			VMOVUPS(acc(r, v), Mem{Base: t, Disp: (r*nv + v) * vb})
		}
	}
	VZEROUPPER()
	RET()
}

// dotRows generates
//
//	func dotRows<ISA>(y *float32, a *float32, lda int, rows int, x *float32, k int)
//
// y[r] = Σ_p a[r*lda+p]·x[p] for r < rows: matrix times vector, four rows
// at a time sharing the loads of x, two vectors of k per step, the k tail
// masked; each row's lanes are summed at the end.
func dotRows(s isa) {
	name := "dotRows" + s.name
	TEXT(name, NOSPLIT, "func(y *float32, a *float32, lda int, rows int, x *float32, k int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets y[r] to the dot product of row r of a and x (see package gen).", name))
	L := s.lanes
	vb := 4 * L
	y := Load(Param("y"), GP64())
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(Imm(2), lda)
	rows := Load(Param("rows"), GP64())
	x := Load(Param("x"), GP64())
	k := Load(Param("k"), GP64())
	mask := s.vec(15)
	p, rem := GP64(), GP64()
	// Tail mask for k % L, set once.
	MOVQ(k, rem)
	ANDQ(U32(L-1), rem)
	if s.lanes == 16 {
		tailMask(rem)
	} else {
		laneMask(rem, mask)
	}
	kfull := GP64()
	MOVQ(k, kfull)
	SUBQ(rem, kfull) // multiple of L

	// group computes g rows (1 or 4) at a: accumulators 2 per row.
	group := func(g int) {
		lbl := fmt.Sprintf("%s_g%d", name, g)
		acc := func(r, j int) VecPhysical { return s.vec(2*r + j) }
		for r := 0; r < g; r++ {
			vxor(s, acc(r, 0), acc(r, 0), acc(r, 0))
			vxor(s, acc(r, 1), acc(r, 1), acc(r, 1))
		}
		xv0, xv1, tv := s.vec(8), s.vec(9), s.vec(10)
		// One pointer per row: the element index takes the index slot.
		rp := []Register{a}
		for r := 1; r < g; r++ {
			pr := GP64()
			LEAQ(Mem{Base: rp[r-1], Index: lda, Scale: 1}, pr)
			rp = append(rp, pr)
		}
		rowMem := func(r int, p Register, disp int) Mem {
			return Mem{Base: rp[r], Index: p, Scale: 4, Disp: disp}
		}
		XORQ(p, p)
		// Two vectors per step while they fit, then one, then the tail.
		Label(lbl + "_two")
		MOVQ(kfull, rem)
		SUBQ(p, rem)
		CMPQ(rem, U32(2*L))
		JL(LabelRef(lbl + "_one"))
		VMOVUPS(Mem{Base: x, Index: p, Scale: 4}, xv0)
		VMOVUPS(Mem{Base: x, Index: p, Scale: 4, Disp: vb}, xv1)
		for r := 0; r < g; r++ {
			VFMADD231PS(rowMem(r, p, 0), xv0, acc(r, 0))
			VFMADD231PS(rowMem(r, p, vb), xv1, acc(r, 1))
		}
		ADDQ(U32(2*L), p)
		JMP(LabelRef(lbl + "_two"))
		Label(lbl + "_one")
		CMPQ(rem, U32(L))
		JL(LabelRef(lbl + "_tail"))
		VMOVUPS(Mem{Base: x, Index: p, Scale: 4}, xv0)
		for r := 0; r < g; r++ {
			VFMADD231PS(rowMem(r, p, 0), xv0, acc(r, 0))
		}
		ADDQ(U32(L), p)
		Label(lbl + "_tail")
		CMPQ(p, k)
		JGE(LabelRef(lbl + "_sum"))
		if s.lanes == 16 {
			VMOVUPS_Z(Mem{Base: x, Index: p, Scale: 4}, K1, xv0)
		} else {
			VMASKMOVPS(Mem{Base: x, Index: p, Scale: 4}, mask, xv0)
		}
		for r := 0; r < g; r++ {
			if s.lanes == 16 {
				VMOVUPS_Z(rowMem(r, p, 0), K1, tv)
			} else {
				VMASKMOVPS(rowMem(r, p, 0), mask, tv)
			}
			VFMADD231PS(tv, xv0, acc(r, 1))
		}
		Label(lbl + "_sum")
		for r := 0; r < g; r++ {
			VADDPS(acc(r, 1), acc(r, 0), acc(r, 0))
			hsum(s, acc(r, 0), acc(r, 1))
			VMOVSS(acc(r, 0).AsX(), Mem{Base: y, Disp: 4 * r})
		}
	}
	Label(name + "_four")
	CMPQ(rows, Imm(4))
	JL(LabelRef(name + "_single"))
	group(4)
	ADDQ(Imm(16), y)
	// a += 4 rows
	LEAQ(Mem{Base: a, Index: lda, Scale: 4}, a)
	SUBQ(Imm(4), rows)
	JMP(LabelRef(name + "_four"))
	Label(name + "_single")
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	group(1)
	ADDQ(Imm(4), y)
	ADDQ(lda, a)
	DECQ(rows)
	JMP(LabelRef(name + "_single"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// hsum leaves the sum of v's lanes in lane 0 of v (t is scratch).
func hsum(s isa, v, t VecPhysical) {
	if s.lanes == 16 {
		VEXTRACTF64X4(Imm(1), v, t.AsY())
		VADDPS(t.AsY(), v.AsY(), v.AsY())
	}
	VEXTRACTF128(Imm(1), v.AsY(), t.AsX())
	VADDPS(t.AsX(), v.AsX(), v.AsX())
	VMOVHLPS(v.AsX(), v.AsX(), t.AsX())
	VADDPS(t.AsX(), v.AsX(), v.AsX())
	VMOVSHDUP(v.AsX(), t.AsX())
	VADDSS(t.AsX(), v.AsX(), v.AsX())
}
