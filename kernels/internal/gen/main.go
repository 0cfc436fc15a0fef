// Command gen writes the amd64 assembly of package kernels with avo:
// the SGEMM micro-kernels for AVX2+FMA and AVX-512. Run it through
// "go generate ./kernels" (see kernels/gemm.go); the output is checked in and
// a test (kernels/generate_test.go) fails when it is stale.
//
// Every micro-kernel has the same contract (see kernelFunc in kernels):
//
//	func(k int, a *float32, rs, ks int, b, c *float32, ldc int,
//	     alpha float32, flags uint64, rowBias, colBias, res *float32,
//	     ldr int, clip *float32)
//
// It computes the MR x NR tile T = A·B over k steps, where element (r, p)
// of A is at a[r*rs + p*ks] (so A is read in place, transposed or not) and
// B is a packed panel holding NR values per step. Then, in this order:
// T *= alpha; T += C if flags&1; T += rowBias[r] if flags&2; T += colBias[j]
// if flags&4; T += res[r*ldr + j] if flags&16 (a residual); T = max(T, 0)
// if flags&8; T = min(max(T, clip[0]), clip[1]) if flags&32 (NaN stays NaN
// in both); and C = T, row r of C at c[r*ldc]. Strides are in elements.
package main

import (
	"flag"
	"fmt"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const signature = "func(k int, a *float32, rs int, ks int, b *float32, c *float32, ldc int, alpha float32, flags uint64, rowBias *float32, colBias *float32, res *float32, ldr int, clip *float32)"

// rowsSignature is the signature of the kernels that read B in place: step
// p of the panel is the NR values at b + offs[p] (in elements).
const rowsSignature = "func(k int, a *float32, rs int, ks int, b *float32, offs *int, c *float32, ldc int, alpha float32, flags uint64, rowBias *float32, colBias *float32, res *float32, ldr int, clip *float32)"

// Flag bits, mirrored in kernels/gemm.go.
const (
	flagAccumulate = 1
	flagRowBias    = 2
	flagColBias    = 4
	flagReLU       = 8
	flagResidual   = 16
	flagClip       = 32
)

// isa describes one vector instruction set.
type isa struct {
	name  string
	lanes int // float32 lanes per vector
	vec   func(i int) VecPhysical
}

var (
	avx2   = isa{name: "AVX2", lanes: 8, vec: func(i int) VecPhysical { return ymm[i] }}
	avx512 = isa{name: "AVX512", lanes: 16, vec: func(i int) VecPhysical { return zmm[i] }}
)

var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

var zmm = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

// rows addresses MR rows spaced stride bytes apart from groups of three
// base registers: row r is base[r/3] + (r%3)*stride.
type rows struct {
	base   []Register
	stride Register
}

func newRows(first, stride Register, mr int) rows {
	rw := rows{stride: stride}
	rw.base = append(rw.base, first)
	for g := 1; g < (mr+2)/3; g++ {
		b := GP64()
		LEAQ(Mem{Base: rw.base[g-1], Index: stride, Scale: 2}, b)
		ADDQ(stride, b)
		rw.base = append(rw.base, b)
	}
	return rw
}

func (rw rows) at(r, disp int) Mem {
	m := Mem{Base: rw.base[r/3], Disp: disp}
	switch r % 3 {
	case 1:
		m.Index, m.Scale = rw.stride, 1
	case 2:
		m.Index, m.Scale = rw.stride, 2
	}
	return m
}

func (rw rows) advance(by Register) {
	for _, b := range rw.base {
		ADDQ(by, b)
	}
}

// kernel generates the mr x (nv*lanes) micro-kernel for s. With rows, B
// is not a packed panel but read in place, step p at b + offs[p]: a
// convolution's rows of its padded input, so nothing is packed at all.
// With masked (AVX-512 only), a last parameter mask selects the tile's
// columns (bit j for column j): B in place, C, the column bias and the
// residual are read, and C written, only there (masked-off lanes of an
// AVX-512 memory operand never fault), so a tile cut by the end of N needs
// no scratch copy.
func kernel(s isa, mr, nv int, rows, masked bool) {
	nr := nv * s.lanes
	vb := s.lanes * 4 // bytes per vector
	name := fmt.Sprintf("sgemmKernel%dx%d%s", mr, nr, s.name)
	sig := signature
	what := "(see package gen for the contract)"
	if rows {
		name = fmt.Sprintf("sgemmRowsKernel%dx%d%s", mr, nr, s.name)
		sig = rowsSignature
		what = "with step p of B at b+offs[p] (see package gen)"
	}
	if masked {
		if s.lanes != 16 {
			panic("masked kernels need AVX-512")
		}
		name += "Masked"
		sig = sig[:len(sig)-1] + ", mask uint64)"
		what += ", columns selected by mask"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %dx%d SGEMM micro-kernel for %s %s.", name, mr, nr, s.name, what))
	nacc := mr * nv
	if nacc+nv+2 > map[int]int{8: 16, 16: 32}[s.lanes] {
		panic("too many registers")
	}
	acc := func(r, v int) VecPhysical { return s.vec(r*nv + v) }
	bv := func(v int) VecPhysical { return s.vec(nacc + v) }
	tmp := s.vec(nacc + nv)
	tmp2 := s.vec(nacc + nv + 1)
	for i := 0; i < nacc; i++ {
		VXORPS(s.vec(i), s.vec(i), s.vec(i))
	}

	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	rs := Load(Param("rs"), GP64())
	SHLQ(Imm(2), rs)
	ks := Load(Param("ks"), GP64())
	SHLQ(Imm(2), ks)
	b := Load(Param("b"), GP64())
	var offs, off Register
	if rows {
		offs = Load(Param("offs"), GP64())
		off = GP64()
	}
	// kmask(v) is vector v's lanes of the mask.
	kregs := []Register{K1, K2, K3, K4}
	kmask := func(v int) Register { return kregs[v] }
	if masked {
		mk := Load(Param("mask"), GP64())
		for v := 0; v < nv; v++ {
			KMOVQ(mk, kmask(v))
			SHRQ(U8(16), mk)
		}
	}
	ar := newRows(a, rs, mr)

	Comment("Main loop: one step of k per iteration.")
	TESTQ(k, k)
	JZ(LabelRef(name + "_epilogue"))
	Label(name + "_loop")
	if rows {
		MOVQ(Mem{Base: offs}, off)
		for v := 0; v < nv; v++ {
			if masked {
				VMOVUPS_Z(Mem{Base: b, Index: off, Scale: 4, Disp: v * vb}, kmask(v), bv(v))
			} else {
				VMOVUPS(Mem{Base: b, Index: off, Scale: 4, Disp: v * vb}, bv(v))
			}
		}
	} else {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: v * vb}, bv(v))
		}
	}
	// Each value of A is broadcast into a register once and used by nv
	// FMAs. AVX-512's FMA with an embedded broadcast operand would save the
	// instruction but measured 20 % slower on Zen 5 (172 against 210
	// GFLOP/s for 8x32 from L1/L2), its broadcast load being repeated per
	// FMA. Two temporaries alternate so consecutive rows do not wait on
	// each other.
	for r := 0; r < mr; r++ {
		t := tmp
		if r%2 == 1 {
			t = tmp2
		}
		VBROADCASTSS(ar.at(r, 0), t)
		for v := 0; v < nv; v++ {
			VFMADD231PS(bv(v), t, acc(r, v))
		}
	}
	ar.advance(ks)
	if rows {
		ADDQ(U32(8), offs)
	} else {
		ADDQ(U32(nv*vb), b)
	}
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_epilogue")
	alpha, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(alpha.Addr, tmp)
	for i := 0; i < nacc; i++ {
		VMULPS(tmp, s.vec(i), s.vec(i))
	}
	flags := Load(Param("flags"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	cr := newRows(c, ldc, mr)

	Comment("C += T")
	TESTQ(U32(flagAccumulate), flags)
	JZ(LabelRef(name + "_rowbias"))
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if masked {
				VADDPS_Z(cr.at(r, v*vb), acc(r, v), kmask(v), acc(r, v))
			} else {
				VADDPS(cr.at(r, v*vb), acc(r, v), acc(r, v))
			}
		}
	}

	Label(name + "_rowbias")
	TESTQ(U32(flagRowBias), flags)
	JZ(LabelRef(name + "_colbias"))
	rb := Load(Param("rowBias"), GP64())
	for r := 0; r < mr; r++ {
		VBROADCASTSS(Mem{Base: rb, Disp: 4 * r}, tmp)
		for v := 0; v < nv; v++ {
			VADDPS(tmp, acc(r, v), acc(r, v))
		}
	}

	Label(name + "_colbias")
	TESTQ(U32(flagColBias), flags)
	JZ(LabelRef(name + "_residual"))
	cb := Load(Param("colBias"), GP64())
	for v := 0; v < nv; v++ {
		if masked {
			VMOVUPS_Z(Mem{Base: cb, Disp: v * vb}, kmask(v), bv(v))
		} else {
			VMOVUPS(Mem{Base: cb, Disp: v * vb}, bv(v))
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VADDPS(bv(v), acc(r, v), acc(r, v))
		}
	}

	Label(name + "_residual")
	TESTQ(U32(flagResidual), flags)
	JZ(LabelRef(name + "_relu"))
	res := Load(Param("res"), GP64())
	ldr := Load(Param("ldr"), GP64())
	SHLQ(Imm(2), ldr)
	rr := newRows(res, ldr, mr)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if masked {
				VADDPS_Z(rr.at(r, v*vb), acc(r, v), kmask(v), acc(r, v))
			} else {
				VADDPS(rr.at(r, v*vb), acc(r, v), acc(r, v))
			}
		}
	}

	Label(name + "_relu")
	TESTQ(U32(flagReLU), flags)
	JZ(LabelRef(name + "_clip"))
	VXORPS(tmp, tmp, tmp)
	for i := 0; i < nacc; i++ {
		// Intel operand order max(0, x): x is returned when it is NaN.
		VMAXPS(s.vec(i), tmp, s.vec(i))
	}

	Label(name + "_clip")
	TESTQ(U32(flagClip), flags)
	JZ(LabelRef(name + "_store"))
	cl := Load(Param("clip"), GP64())
	VBROADCASTSS(Mem{Base: cl}, tmp)
	VBROADCASTSS(Mem{Base: cl, Disp: 4}, tmp2)
	for i := 0; i < nacc; i++ {
		VMAXPS(s.vec(i), tmp, s.vec(i)) // max(lo, x), x when NaN
		VMINPS(s.vec(i), tmp2, s.vec(i))
	}

	Label(name + "_store")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			if masked {
				VMOVUPS(acc(r, v), kmask(v), cr.at(r, v*vb))
			} else {
				VMOVUPS(acc(r, v), cr.at(r, v*vb))
			}
		}
	}
	VZEROUPPER()
	RET()
}

// set picks the file to generate: "gemm" (SGEMM micro-kernels,
// gemm_amd64.s) or "simd" (the other vector kernels, simd_amd64.s).
var set = flag.String("set", "gemm", "kernel set to generate: gemm or simd")

func main() {
	// No Package(...): every signature is spelled out in basic types, so
	// the generator need not type-check package kernels, and a stale or
	// missing stub file cannot block its own regeneration (-pkg names the
	// package).
	ConstraintExpr("!purego")
	flag.Parse()
	switch *set {
	case "gemm":
		for _, rows := range []bool{false, true} {
			kernel(avx2, 6, 2, rows, false)
			kernel(avx512, 8, 2, rows, false)
			kernel(avx512, 8, 2, rows, true)
		}
		activations()
	case "simd":
		simd()
	default:
		fmt.Fprintf(os.Stderr, "gen: unknown set %q\n", *set)
		os.Exit(2)
	}
	Generate()
}
