package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Vector float32 exp, sigmoid, tanh and erf: the algorithms of kernels'
// Exp32, Sigmoid32, Tanh32 and Erf32 (Cephes polynomials) on every lane,
// both branches of the piecewise ones computed and blended. Constants live
// in one table read as memory operands (16 vector registers are too few
// for them all). Each is replicated over 128 bytes and the kernels round
// the table's address up to 64: the linker aligns a symbol to 32 bytes at
// most, and a 64-byte operand that crosses a cache line made the AVX-512
// sigmoid a third slower (4096 values: 1150 against 1720 ns).

// mathConsts names the table's constants in order.
var mathConsts = []struct {
	name string
	v    float32
	bits uint32 // used instead of v when non-zero
}{
	{"expLo", -104, 0}, // below: the result rounds to 0
	{"expHi", 89, 0},   // above: the scaling overflows to +Inf
	{"log2e", 1.44269504088896341, 0},
	{"ln2Hi", 0.693359375, 0},
	{"ln2Lo", -2.12194440e-4, 0},
	{"p0", 1.9875691500e-4, 0},
	{"p1", 1.3981999507e-3, 0},
	{"p2", 8.3334519073e-3, 0},
	{"p3", 4.1665795894e-2, 0},
	{"p4", 1.6666665459e-1, 0},
	{"p5", 5.0000001201e-1, 0},
	{"one", 1, 0},
	{"two", 2, 0},
	{"abs", 0, 0x7fffffff},
	{"sign", 0, 0x80000000},
	{"bias", 0, 127},
	// tanh below 0.625
	{"tanhLo", 0.625, 0},
	{"t0", -5.70498872745e-3, 0},
	{"t1", 2.06390887954e-2, 0},
	{"t2", -5.37397155531e-2, 0},
	{"t3", 1.33314422036e-1, 0},
	{"t4", -3.33332819422e-1, 0},
	// erf below 1
	{"e0", 7.853861353153693e-5, 0},
	{"e1", -8.010193625184903e-4, 0},
	{"e2", 5.188327685732524e-3, 0},
	{"e3", -2.685381193529856e-2, 0},
	{"e4", 1.128358514861418e-1, 0},
	{"e5", -3.761262582423300e-1, 0},
	{"e6", 1.128379165726710, 0},
	// erf above 1 (Abramowitz-Stegun 7.1.26)
	{"aP", 0.3275911, 0},
	{"a1", 1.061405429, 0},
	{"a2", -1.453152027, 0},
	{"a3", 1.421413741, 0},
	{"a4", -0.284496736, 0},
	{"a5", 0.254829592, 0},
	{"negInf", 0, 0xff800000},
	// GELU
	{"half", 0.5, 0},
	{"rsqrt2", 0.70710678118654752, 0},
	{"gc1", 0.7978845608028654, 0},   // √(2/π)
	{"gc2", 0.035677408136300125, 0}, // 0.044715·√(2/π)
}

var mathTable Mem

func mathTables() {
	mathTable = GLOBL("mathconsts", RODATA|NOPTR)
	for k, c := range mathConsts {
		bits := c.bits
		if bits == 0 {
			bits = math.Float32bits(c.v)
		}
		for l := 0; l < 32; l++ {
			DATA(128*k+4*l, U32(bits))
		}
	}
}

// constRegs holds, while an AVX-512 kernel is generated, the constants it
// keeps in registers (Z20–Z31) for the whole call: exp's, read by every
// kernel here.
var constRegs map[string]VecPhysical

var inRegisters = []string{"expLo", "expHi", "log2e", "ln2Hi", "ln2Lo", "p0", "p1", "p2", "p3", "p4", "p5", "one"}

// mc returns constant name: its register when constRegs has it, else its
// memory operand, the table's address (rounded up to 64, see
// loadMathTable) in tb.
func mc(tb Register, name string) Op {
	if r, ok := constRegs[name]; ok {
		return r
	}
	for k, c := range mathConsts {
		if c.name == name {
			return Mem{Base: tb, Disp: 128 * k}
		}
	}
	panic("no constant " + name)
}

// loadMathTable sets tb to the table's address rounded up to 64 bytes.
func loadMathTable(tb Register) {
	LEAQ(mathTable, tb)
	ADDQ(U8(63), tb)
	ANDQ(I8(-64), tb)
}

// expCore sets x = e**x, Cephes expf: x clamped to [-104, 89], n =
// round(x·log2 e), r = x - n·ln2 in two parts, e**r by a degree-7
// polynomial, then times 2**(n/2) and 2**(n-n/2) so results in the
// denormals round once and large ones overflow to +Inf (AVX-512: times 2**n
// by VSCALEFPS, which rounds once too). NaN stays NaN.
// t1 and t2 are scratch.
func expCore(s isa, tb Register, x, t1, t2 lanes) {
	// The bounds go in a register as the first operand, so that NaN (the
	// operand returned when either is NaN) stays.
	for l := range x {
		VMOVUPS(mc(tb, "expLo"), t1[l])
	}
	for l := range x {
		VMAXPS(x[l], t1[l], x[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "expHi"), t1[l])
	}
	for l := range x {
		VMINPS(x[l], t1[l], x[l])
	}
	for l := range x {
		VMULPS(mc(tb, "log2e"), x[l], t1[l]) // n
	}
	for l := range x {
		if s.lanes == 16 {
			VRNDSCALEPS(Imm(0), t1[l], t1[l])
		} else {
			VROUNDPS(Imm(0), t1[l], t1[l])
		}
	}
	for l := range x {
		VFNMADD231PS(mc(tb, "ln2Hi"), t1[l], x[l]) // r
	}
	for l := range x {
		VFNMADD231PS(mc(tb, "ln2Lo"), t1[l], x[l])
	}
	if s.lanes != 16 {
		for l := range x {
			VCVTPS2DQ(t1[l], t1[l]) // n as int32
		}
	}
	for l := range x {
		VMOVUPS(mc(tb, "p0"), t2[l])
	}
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		for l := range x {
			VFMADD213PS(mc(tb, p), x[l], t2[l]) // t2 = t2·r + p
		}
	}
	// y = t2·r² + r + 1 = (t2·r + 1)·r + 1
	for l := range x {
		VFMADD213PS(mc(tb, "one"), x[l], t2[l])
	}
	for l := range x {
		VFMADD213PS(mc(tb, "one"), t2[l], x[l]) // x = x·t2 + 1
	}
	if s.lanes == 16 {
		// VSCALEFPS multiplies by 2**n with one rounding, denormal and
		// overflowing results included: one instruction for the nine of
		// the integer route below.
		for l := range x {
			VSCALEFPS(t1[l], x[l], x[l])
		}
		return
	}
	// Scale by 2**n1 · 2**n2, n1 = n>>1, n2 = n - n1.
	for l := range x {
		VPSRAD(Imm(1), t1[l], t2[l]) // n1
		VPSUBD(t2[l], t1[l], t1[l])  // n2
	}
	for l := range x {
		VPADDD(mc(tb, "bias"), t2[l], t2[l]) // exponent bits of 2**n1
		VPSLLD(Imm(23), t2[l], t2[l])
	}
	for l := range x {
		VMULPS(t2[l], x[l], x[l])
	}
	for l := range x {
		VPADDD(mc(tb, "bias"), t1[l], t1[l]) // 2**n2
		VPSLLD(Imm(23), t1[l], t1[l])
	}
	for l := range x {
		VMULPS(t1[l], x[l], x[l])
	}
}

// lanes are the registers of one role (x, a scratch) for each vector a
// kernel works on at once: every step is emitted for all of them before
// the next, so that the vectors' long dependency chains interleave.
type lanes []VecPhysical

// laneK are AVX-512 mask registers, one per lane (K1 is the tail's).
var laneK = []Register{K2, K3, K4, K5}

// unaryMath generates func <name><ISA>(dst, src *float32, n int) applying
// body to every element (in place on the registers x it is given, with
// four scratch registers per vector and the constant table's address).
// AVX-512 takes four vectors at a time (one vector's steps each wait on
// the one before, about thirty deep: four chains keep the units busy;
// with exp's constants in registers, SiLU went from 1040 to 830 ns per 4096
// values), AVX2 two; then one,
// then a masked tail.
func unaryMath(s isa, name, doc string, body func(tb Register, x, t1, t2, t3, t4 lanes)) {
	fn := name + s.name
	TEXT(fn, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s %s", fn, doc))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	tb := GP64()
	loadMathTable(tb)
	if s.lanes == 16 {
		constRegs = map[string]VecPhysical{}
		for k, name := range inRegisters {
			r := zmm[20+k]
			VMOVUPS(mc(tb, name), r)
			constRegs[name] = r
		}
		defer func() { constRegs = nil }()
	}
	i, rem := GP64(), GP64()
	XORQ(i, i)
	mask := s.vec(15) // AVX2 tail mask
	G := 2
	if s.lanes == 16 {
		G = 4
	}
	// Registers: lane l of role r is vec(r*G + l).
	regs := func(g int) [5]lanes {
		var rs [5]lanes
		for r := range rs {
			for l := 0; l < g; l++ {
				rs[r] = append(rs[r], s.vec(r*G+l))
			}
		}
		return rs
	}
	group := func(g int, tail bool) {
		rs := regs(g)
		x := rs[0]
		for l := 0; l < g; l++ {
			m := Mem{Base: src, Index: i, Scale: 4, Disp: 4 * s.lanes * l}
			switch {
			case !tail:
				VMOVUPS(m, x[l])
			case s.lanes == 16:
				VMOVUPS_Z(m, K1, x[l])
			default:
				VMASKMOVPS(m, mask, x[l])
			}
		}
		body(tb, x, rs[1], rs[2], rs[3], rs[4])
		for l := 0; l < g; l++ {
			d := Mem{Base: dst, Index: i, Scale: 4, Disp: 4 * s.lanes * l}
			switch {
			case !tail:
				VMOVUPS(x[l], d)
			case s.lanes == 16:
				VMOVUPS(x[l], K1, d)
			default:
				VMASKMOVPS(x[l], mask, d)
			}
		}
	}
	L := s.lanes
	Label(fn + "_loopG")
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(G*L))
	JL(LabelRef(fn + "_loop1"))
	group(G, false)
	ADDQ(U32(G*L), i)
	JMP(LabelRef(fn + "_loopG"))
	Label(fn + "_loop1")
	CMPQ(rem, U32(L))
	JL(LabelRef(fn + "_tail"))
	group(1, false)
	ADDQ(U32(L), i)
	SUBQ(U32(L), rem)
	JMP(LabelRef(fn + "_loop1"))
	Label(fn + "_tail")
	TESTQ(rem, rem)
	JZ(LabelRef(fn + "_done"))
	if s.lanes == 16 {
		tailMask(rem)
	} else {
		laneMask(rem, mask)
	}
	group(1, true)
	Label(fn + "_done")
	VZEROUPPER()
	RET()
}

// logistic sets dst = 1/(1+e**-x): e = e**-|x|, r = 1/(1+e), and e·r
// where x's sign bit is set (so -0 and a negative NaN pick e·r: the same
// value, and NaN), else r. dst may be x or t3; t1, t2, t3 are scratch.
func logistic(s isa, tb Register, x, dst, t1, t2, t3 lanes) {
	for l := range x {
		vor(s, mc(tb, "sign"), x[l], t3[l]) // -|x|
	}
	expCore(s, tb, t3, t1, t2)
	for l := range x {
		VADDPS(mc(tb, "one"), t3[l], t1[l])
	}
	if s.lanes == 16 {
		// r = 1/(1+e) by the 14-bit reciprocal and one Newton step
		// (relative error below 2**-27; the divide it replaces halved
		// the throughput of every sigmoid and SiLU).
		recip14(tb, t1, t2)
		for l := range x {
			VMULPS(t2[l], t3[l], t3[l]) // e·r
		}
		for l := range x {
			VPTESTMD(mc(tb, "sign"), x[l], laneK[l])
		}
		for l := range x {
			VBLENDMPS(t3[l], t2[l], laneK[l], dst[l])
		}
		return
	}
	for l := range x {
		VMOVUPS(mc(tb, "one"), t2[l])
	}
	for l := range x {
		VDIVPS(t1[l], t2[l], t1[l]) // r
	}
	for l := range x {
		VMULPS(t1[l], t3[l], t3[l]) // e·r
	}
	for l := range x {
		VBLENDVPS(x[l], t3[l], t1[l], dst[l])
	}
}

// recip14 sets r = 1/d for d in [1, 2] (AVX-512): VRCP14PS and one Newton
// step, r·(2 - d·r). d is overwritten.
func recip14(tb Register, d, r lanes) {
	for l := range d {
		VRCP14PS(d[l], r[l])
	}
	for l := range d {
		VFNMADD213PS(mc(tb, "one"), r[l], d[l]) // d = 1 - d·r
	}
	for l := range d {
		VFMADD213PS(r[l], d[l], r[l]) // r = r·d + r
	}
}

// blendLess sets dst = a where x < lim (a constant), else b; mask is an
// AVX2 scratch register (AVX-512 uses K2).
func blendLess(s isa, tb Register, x lanes, lim string, a, b, dst, mask lanes) {
	const ltOQ = 0x11
	if s.lanes == 16 {
		for l := range x {
			VCMPPS(Imm(ltOQ), mc(tb, lim), x[l], laneK[l])
		}
		for l := range x {
			VBLENDMPS(a[l], b[l], laneK[l], dst[l])
		}
		return
	}
	for l := range x {
		VCMPPS(Imm(ltOQ), mc(tb, lim), x[l], mask[l])
	}
	for l := range x {
		VBLENDVPS(mask[l], a[l], b[l], dst[l])
	}
}

// Bitwise operations (Go operand order: b, a, dst): the float forms of
// AVX2, the integer ones of AVX-512F (its float forms need AVX512DQ).
func vand(s isa, b Op, a, dst VecPhysical) {
	if s.lanes == 16 {
		VPANDD(b, a, dst)
	} else {
		VANDPS(b, a, dst)
	}
}

func vor(s isa, b Op, a, dst VecPhysical) {
	if s.lanes == 16 {
		VPORD(b, a, dst)
	} else {
		VORPS(b, a, dst)
	}
}

func vxor(s isa, b Op, a, dst VecPhysical) {
	if s.lanes == 16 {
		VPXORD(b, a, dst)
	} else {
		VXORPS(b, a, dst)
	}
}

func mathKernels(s isa) {
	unaryMath(s, "exp", "sets dst[i] = e**src[i] for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ lanes) {
		expCore(s, tb, x, t1, t2)
	})
	unaryMath(s, "logistic", "sets dst[i] = 1/(1+e**-src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ lanes) {
		logistic(s, tb, x, x, t1, t2, t3)
	})
	unaryMath(s, "silu", "sets dst[i] = src[i]/(1+e**-src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ lanes) {
		// x·sigmoid(x): the sigmoid into t3 (x is kept), then the product.
		logistic(s, tb, x, t3, t1, t2, t3)
		for l := range x {
			VMULPS(t3[l], x[l], x[l])
		}
	})
	unaryMath(s, "tanh", "sets dst[i] = tanh(src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ lanes) {
		tanhBody(s, tb, x, t1, t2, t3)
	})
	unaryMath(s, "erf", "sets dst[i] = erf(src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ lanes) {
		erfBody(s, tb, x, t1, t2, t3)
	})
	if s.lanes != 16 {
		return // AVX2's GELUs are activation.go's (geluAVX2, geluTanhAVX2)
	}
	unaryMath(s, "gelu", "sets dst[i] = src[i]/2·(1 + erf(src[i]/√2)) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, t4 lanes) {
		for l := range x {
			VMOVAPS(x[l], t4[l])
			VMULPS(mc(tb, "rsqrt2"), x[l], x[l])
		}
		erfBody(s, tb, x, t1, t2, t3)
		for l := range x {
			VADDPS(mc(tb, "one"), x[l], x[l])
			VMULPS(mc(tb, "half"), t4[l], t4[l])
		}
		for l := range x {
			VMULPS(t4[l], x[l], x[l])
		}
	})
	unaryMath(s, "geluTanh", "sets dst[i] = src[i]/2·(1 + tanh(√(2/π)·(src[i] + 0.044715·src[i]³))) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, t4 lanes) {
		for l := range x {
			VMOVAPS(x[l], t4[l])
			VMULPS(x[l], x[l], x[l]) // x²
		}
		for l := range x {
			VMOVUPS(mc(tb, "gc2"), t1[l])
		}
		for l := range x {
			VFMADD213PS(mc(tb, "gc1"), x[l], t1[l]) // gc2·x² + gc1
		}
		for l := range x {
			VMULPS(t1[l], t4[l], x[l]) // ·x
		}
		tanhBody(s, tb, x, t1, t2, t3)
		for l := range x {
			VADDPS(mc(tb, "one"), x[l], x[l])
			VMULPS(mc(tb, "half"), t4[l], t4[l])
		}
		for l := range x {
			VMULPS(t4[l], x[l], x[l])
		}
	})
}

// tanhBody sets x = tanh(x): for large |x|, 1 - 2/(e**(2|x|)+1) with x's
// sign; below 0.625 an odd polynomial. t1, t2, t3 are scratch.
func tanhBody(s isa, tb Register, x, t1, t2, t3 lanes) {
	// Large: 1 - 2/(e**(2|x|)+1) with x's sign; small: odd polynomial.
	for l := range x {
		vand(s, mc(tb, "abs"), x[l], t3[l])
	}
	for l := range x {
		VADDPS(t3[l], t3[l], t3[l])
	}
	expCore(s, tb, t3, t1, t2)
	for l := range x {
		VADDPS(mc(tb, "one"), t3[l], t3[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "two"), t1[l])
	}
	for l := range x {
		VDIVPS(t3[l], t1[l], t3[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "one"), t1[l])
	}
	for l := range x {
		VSUBPS(t3[l], t1[l], t3[l]) // |tanh|
	}
	for l := range x {
		vand(s, mc(tb, "sign"), x[l], t1[l])
	}
	for l := range x {
		vor(s, t1[l], t3[l], t3[l]) // with x's sign
	}
	// small
	for l := range x {
		VMULPS(x[l], x[l], t1[l]) // z
	}
	for l := range x {
		VMOVUPS(mc(tb, "t0"), t2[l])
	}
	for _, c := range []string{"t1", "t2", "t3", "t4"} {
		for l := range x {
			VFMADD213PS(mc(tb, c), t1[l], t2[l])
		}
	}
	for l := range x {
		VMULPS(t1[l], t2[l], t2[l]) // ·z
	}
	for l := range x {
		VFMADD213PS(x[l], x[l], t2[l]) // ·x + x
	}
	for l := range x {
		vand(s, mc(tb, "abs"), x[l], t1[l])
	}
	blendLess(s, tb, t1, "tanhLo", t2, t3, x, t1)
}

// erfBody sets x = erf(x): for |x| >= 1, 1 - p(t)·e**(-x²) with t =
// 1/(1+0.3275911|x|) and x's sign; below, x·poly(x²). t1, t2, t3 are
// scratch.
func erfBody(s isa, tb Register, x, t1, t2, t3 lanes) {
	// Large: 1 - p(t)·e**(-x²), t = 1/(1+0.3275911|x|), with x's sign.
	for l := range x {
		VMULPS(x[l], x[l], t3[l])
	}
	for l := range x {
		vxor(s, mc(tb, "sign"), t3[l], t3[l]) // -x²
	}
	expCore(s, tb, t3, t1, t2)
	for l := range x {
		vand(s, mc(tb, "abs"), x[l], t1[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "aP"), t2[l])
	}
	for l := range x {
		VFMADD213PS(mc(tb, "one"), t2[l], t1[l]) // 1 + aP·|x|
	}
	for l := range x {
		VMOVUPS(mc(tb, "one"), t2[l])
	}
	for l := range x {
		VDIVPS(t1[l], t2[l], t1[l]) // t
	}
	for l := range x {
		VMOVUPS(mc(tb, "a1"), t2[l])
	}
	for _, c := range []string{"a2", "a3", "a4", "a5"} {
		for l := range x {
			VFMADD213PS(mc(tb, c), t1[l], t2[l])
		}
	}
	for l := range x {
		VMULPS(t1[l], t2[l], t2[l]) // p
	}
	for l := range x {
		VMULPS(t2[l], t3[l], t3[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "one"), t1[l])
	}
	for l := range x {
		VSUBPS(t3[l], t1[l], t3[l])
	}
	for l := range x {
		vand(s, mc(tb, "sign"), x[l], t1[l])
	}
	for l := range x {
		vor(s, t1[l], t3[l], t3[l])
	}
	// small: x·poly(x²)
	for l := range x {
		VMULPS(x[l], x[l], t1[l])
	}
	for l := range x {
		VMOVUPS(mc(tb, "e0"), t2[l])
	}
	for _, c := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		for l := range x {
			VFMADD213PS(mc(tb, c), t1[l], t2[l])
		}
	}
	for l := range x {
		VMULPS(x[l], t2[l], t2[l])
	}
	for l := range x {
		vand(s, mc(tb, "abs"), x[l], t1[l])
	}
	blendLess(s, tb, t1, "one", t2, t3, x, t1)
}
