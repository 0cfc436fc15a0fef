package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// axpyRows generates
//
//	func axpyRowsISA(y *float32, n int, a *float32, rows int, b *float32, ldb int)
//
// y[j] += Σ_{p<rows} a[p]·b[p·ldb+j] for j < n: one row of A times B, B
// streamed row by row (four rows at a time, then one), y kept in L1 by the
// caller's column chunks. Walking B down a column tile instead, as the
// few-row kernels do, strides through memory ldb apart at every step,
// which for one row of A left the product at a quarter of its speed.
func axpyRows(s isa) {
	name := "axpyRows" + s.name
	TEXT(name, NOSPLIT, "func(y *float32, n int, a *float32, rows int, b *float32, ldb int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds a[p]·b[p·ldb:][:n] for p < rows to y[:n] (see package gen).", name))
	L := s.lanes
	vb := 4 * L
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	a := Load(Param("a"), GP64())
	rows := Load(Param("rows"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	w := []VecPhysical{s.vec(4), s.vec(5), s.vec(6), s.vec(7)}
	acc, tmp := s.vec(0), s.vec(1)
	mask := s.vec(15)
	full, rem := GP64(), GP64()
	MOVQ(n, full)
	ANDQ(I32(-L), full)
	MOVQ(n, rem)
	SUBQ(full, rem)
	if s.lanes == 16 {
		tailMask(rem)
	} else {
		laneMask(rem, mask)
	}
	bp := []Register{GP64(), GP64(), GP64(), GP64()}
	j := GP64()
	// group emits the pass of g rows (1 or 4) over y.
	group := func(g int) {
		lbl := fmt.Sprintf("%s_g%d", name, g)
		for r := 0; r < g; r++ {
			VBROADCASTSS(Mem{Base: a, Disp: 4 * r}, w[r])
		}
		MOVQ(b, bp[0])
		for r := 1; r < g; r++ {
			LEAQ(Mem{Base: bp[r-1], Index: ldb, Scale: 1}, bp[r])
		}
		XORQ(j, j)
		Label(lbl + "_vec")
		CMPQ(j, full)
		JGE(LabelRef(lbl + "_tail"))
		VMOVUPS(Mem{Base: y, Index: j, Scale: 4}, acc)
		for r := 0; r < g; r++ {
			VFMADD231PS(Mem{Base: bp[r], Index: j, Scale: 4}, w[r], acc)
		}
		VMOVUPS(acc, Mem{Base: y, Index: j, Scale: 4})
		ADDQ(U8(L), j)
		JMP(LabelRef(lbl + "_vec"))
		Label(lbl + "_tail")
		TESTQ(rem, rem)
		JZ(LabelRef(lbl + "_next"))
		if s.lanes == 16 {
			VMOVUPS_Z(Mem{Base: y, Index: j, Scale: 4}, K1, acc)
			for r := 0; r < g; r++ {
				VMOVUPS_Z(Mem{Base: bp[r], Index: j, Scale: 4}, K1, tmp)
				VFMADD231PS(tmp, w[r], acc)
			}
			VMOVUPS(acc, K1, Mem{Base: y, Index: j, Scale: 4})
		} else {
			VMASKMOVPS(Mem{Base: y, Index: j, Scale: 4}, mask, acc)
			for r := 0; r < g; r++ {
				VMASKMOVPS(Mem{Base: bp[r], Index: j, Scale: 4}, mask, tmp)
				VFMADD231PS(tmp, w[r], acc)
			}
			VMASKMOVPS(acc, mask, Mem{Base: y, Index: j, Scale: 4})
		}
		Label(lbl + "_next")
		ADDQ(U8(4*g), a)
		for r := 0; r < g; r++ {
			ADDQ(ldb, b)
		}
		SUBQ(U8(g), rows)
	}
	_ = vb
	Label(name + "_four")
	CMPQ(rows, U8(4))
	JL(LabelRef(name + "_one"))
	group(4)
	JMP(LabelRef(name + "_four"))
	Label(name + "_one")
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	group(1)
	JMP(LabelRef(name + "_one"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
