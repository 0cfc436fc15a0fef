package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// copyRows generates
//
//	func copyRowsISA(dst *float32, ldd int, src *float32, lds int, rows, n int)
//
// copying rows rows of n values from src (row stride lds) to dst (row
// stride ldd): whole vectors, then the row's tail under a lane mask, so
// nothing past a row's n values is touched. Convolutions move short rows
// between padded and dense planes (14 or 7 values), where a memmove call
// per row cost more than the arithmetic.
func copyRows(s isa) {
	name := "copyRows" + s.name
	TEXT(name, NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, rows int, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies rows x n values from src (row stride lds) to dst (row stride ldd) (see package gen).", name))
	L := s.lanes
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	full := GP64() // n rounded down to whole vectors
	MOVQ(n, full)
	ANDQ(I32(-L), full)
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(full, rem)
	mask := s.vec(2)
	if s.lanes == 16 {
		tailMask(rem)
	} else {
		laneMask(rem, mask)
	}
	i := GP64()
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	Label(name + "_row")
	XORQ(i, i)
	Label(name + "_vec")
	CMPQ(i, full)
	JGE(LabelRef(name + "_tail"))
	VMOVUPS(Mem{Base: src, Index: i, Scale: 4}, s.vec(0))
	VMOVUPS(s.vec(0), Mem{Base: dst, Index: i, Scale: 4})
	ADDQ(U8(L), i)
	JMP(LabelRef(name + "_vec"))
	Label(name + "_tail")
	TESTQ(rem, rem)
	JZ(LabelRef(name + "_next"))
	if s.lanes == 16 {
		VMOVUPS_Z(Mem{Base: src, Index: i, Scale: 4}, K1, s.vec(0))
		VMOVUPS(s.vec(0), K1, Mem{Base: dst, Index: i, Scale: 4})
	} else {
		VMASKMOVPS(Mem{Base: src, Index: i, Scale: 4}, mask, s.vec(0))
		VMASKMOVPS(s.vec(0), mask, Mem{Base: dst, Index: i, Scale: 4})
	}
	Label(name + "_next")
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
