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

// mc returns the memory operand of constant name, the table's address
// (rounded up to 64, see loadMathTable) in tb.
func mc(tb Register, name string) Mem {
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
func expCore(s isa, tb Register, x, t1, t2 VecPhysical) {
	// The bounds go in a register as the first operand, so that NaN (the
	// operand returned when either is NaN) stays.
	VMOVUPS(mc(tb, "expLo"), t1)
	VMAXPS(x, t1, x)
	VMOVUPS(mc(tb, "expHi"), t1)
	VMINPS(x, t1, x)
	VMULPS(mc(tb, "log2e"), x, t1) // n
	if s.lanes == 16 {
		VRNDSCALEPS(Imm(0), t1, t1)
	} else {
		VROUNDPS(Imm(0), t1, t1)
	}
	VFNMADD231PS(mc(tb, "ln2Hi"), t1, x) // r
	VFNMADD231PS(mc(tb, "ln2Lo"), t1, x)
	if s.lanes == 16 {
		// e**r by the polynomial, then VSCALEFPS multiplies by 2**n
		// with one rounding, denormal and overflowing results included:
		// one instruction for the nine of the integer route below.
		VMOVUPS(mc(tb, "p0"), t2)
		for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
			VFMADD213PS(mc(tb, p), x, t2)
		}
		VFMADD213PS(mc(tb, "one"), x, t2)
		VFMADD213PS(mc(tb, "one"), t2, x)
		VSCALEFPS(t1, x, x)
		return
	}
	VCVTPS2DQ(t1, t1) // n as int32
	VMOVUPS(mc(tb, "p0"), t2)
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		VFMADD213PS(mc(tb, p), x, t2) // t2 = t2·r + p
	}
	// y = t2·r² + r + 1 = (t2·r + 1)·r + 1
	VFMADD213PS(mc(tb, "one"), x, t2)
	VFMADD213PS(mc(tb, "one"), t2, x) // x = x·t2 + 1
	// Scale by 2**n1 · 2**n2, n1 = n>>1, n2 = n - n1.
	VPSRAD(Imm(1), t1, t2)         // n1
	VPSUBD(t2, t1, t1)             // n2
	VPADDD(mc(tb, "bias"), t2, t2) // exponent bits of 2**n1
	VPSLLD(Imm(23), t2, t2)        //
	VMULPS(t2, x, x)               //
	VPADDD(mc(tb, "bias"), t1, t1) // 2**n2
	VPSLLD(Imm(23), t1, t1)        //
	VMULPS(t1, x, x)               //
}

// unaryMath generates func <name><ISA>(dst, src *float32, n int) applying
// body to every element (in place on the register it is given, with three
// scratch registers and the constant table's address).
func unaryMath(s isa, name, doc string, body func(tb Register, x, t1, t2, t3, t4 VecPhysical)) {
	fn := name + s.name
	TEXT(fn, NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s %s", fn, doc))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	tb := GP64()
	loadMathTable(tb)
	i, rem := GP64(), GP64()
	XORQ(i, i)
	// Two vectors per iteration (registers 0-3 and 4-7), then one, then a
	// masked tail.
	mask := s.vec(12)
	one := func(x, t1, t2, t3, t4 VecPhysical, disp int, tail bool) {
		m := Mem{Base: src, Index: i, Scale: 4, Disp: disp}
		switch {
		case !tail:
			VMOVUPS(m, x)
		case s.lanes == 16:
			VMOVUPS_Z(m, K1, x)
		default:
			VMASKMOVPS(m, mask, x)
		}
		body(tb, x, t1, t2, t3, t4)
		d := Mem{Base: dst, Index: i, Scale: 4, Disp: disp}
		switch {
		case !tail:
			VMOVUPS(x, d)
		case s.lanes == 16:
			VMOVUPS(x, K1, d)
		default:
			VMASKMOVPS(x, mask, d)
		}
	}
	L := s.lanes
	Label(fn + "_loop2")
	MOVQ(n, rem)
	SUBQ(i, rem)
	CMPQ(rem, U32(2*L))
	JL(LabelRef(fn + "_loop1"))
	one(s.vec(0), s.vec(1), s.vec(2), s.vec(3), s.vec(8), 0, false)
	one(s.vec(4), s.vec(5), s.vec(6), s.vec(7), s.vec(9), 4*L, false)
	ADDQ(U32(2*L), i)
	JMP(LabelRef(fn + "_loop2"))
	Label(fn + "_loop1")
	CMPQ(rem, U32(L))
	JL(LabelRef(fn + "_tail"))
	one(s.vec(0), s.vec(1), s.vec(2), s.vec(3), s.vec(8), 0, false)
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
	one(s.vec(0), s.vec(1), s.vec(2), s.vec(3), s.vec(8), 0, true)
	Label(fn + "_done")
	VZEROUPPER()
	RET()
}

// logistic sets dst = 1/(1+e**-x): e = e**-|x|, r = 1/(1+e), and e·r
// where x's sign bit is set (so -0 and a negative NaN pick e·r: the same
// value, and NaN), else r. dst may be x or t3; t1, t2, t3 are scratch.
func logistic(s isa, tb Register, x, dst, t1, t2, t3 VecPhysical) {
	vor(s, mc(tb, "sign"), x, t3) // -|x|
	expCore(s, tb, t3, t1, t2)
	VADDPS(mc(tb, "one"), t3, t1)
	if s.lanes == 16 {
		// r = 1/(1+e) by the 14-bit reciprocal and one Newton step
		// (relative error below 2**-27; the divide it replaces halved
		// the throughput of every sigmoid and SiLU).
		recip14(tb, t1, t2)
		VMULPS(t2, t3, t3) // e·r
		VPTESTMD(mc(tb, "sign"), x, K2)
		VBLENDMPS(t3, t2, K2, dst)
		return
	}
	VMOVUPS(mc(tb, "one"), t2)
	VDIVPS(t1, t2, t1) // r
	VMULPS(t1, t3, t3) // e·r
	{
		VBLENDVPS(x, t3, t1, dst)
	}
}

// recip14 sets r = 1/d for d in [1, 2] (AVX-512): VRCP14PS and one Newton
// step, r·(2 - d·r). d is overwritten.
func recip14(tb Register, d, r VecPhysical) {
	VRCP14PS(d, r)
	VFNMADD213PS(mc(tb, "one"), r, d) // d = 1 - d·r
	VFMADD213PS(r, d, r)              // r = r·d + r
}

// blendLess sets dst = a where x < lim (a constant), else b; mask is an
// AVX2 scratch register (AVX-512 uses K2).
func blendLess(s isa, tb Register, x VecPhysical, lim string, a, b, dst, mask VecPhysical) {
	const ltOQ = 0x11
	if s.lanes == 16 {
		VCMPPS(Imm(ltOQ), mc(tb, lim), x, K2)
		VBLENDMPS(a, b, K2, dst)
		return
	}
	VCMPPS(Imm(ltOQ), mc(tb, lim), x, mask)
	VBLENDVPS(mask, a, b, dst)
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
	unaryMath(s, "exp", "sets dst[i] = e**src[i] for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ VecPhysical) {
		expCore(s, tb, x, t1, t2)
	})
	unaryMath(s, "logistic", "sets dst[i] = 1/(1+e**-src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ VecPhysical) {
		logistic(s, tb, x, x, t1, t2, t3)
	})
	unaryMath(s, "silu", "sets dst[i] = src[i]/(1+e**-src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ VecPhysical) {
		// x·sigmoid(x): the sigmoid into t3 (x is kept), then the product.
		logistic(s, tb, x, t3, t1, t2, t3)
		VMULPS(t3, x, x)
	})
	unaryMath(s, "tanh", "sets dst[i] = tanh(src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ VecPhysical) {
		tanhBody(s, tb, x, t1, t2, t3)
	})
	unaryMath(s, "erf", "sets dst[i] = erf(src[i]) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, _ VecPhysical) {
		erfBody(s, tb, x, t1, t2, t3)
	})
	if s.lanes != 16 {
		return // AVX2's GELUs are activation.go's (geluAVX2, geluTanhAVX2)
	}
	unaryMath(s, "gelu", "sets dst[i] = src[i]/2·(1 + erf(src[i]/√2)) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, t4 VecPhysical) {
		VMOVAPS(x, t4)
		VMULPS(mc(tb, "rsqrt2"), x, x)
		erfBody(s, tb, x, t1, t2, t3)
		VADDPS(mc(tb, "one"), x, x)
		VMULPS(mc(tb, "half"), t4, t4)
		VMULPS(t4, x, x)
	})
	unaryMath(s, "geluTanh", "sets dst[i] = src[i]/2·(1 + tanh(√(2/π)·(src[i] + 0.044715·src[i]³))) for i < n (see package gen).", func(tb Register, x, t1, t2, t3, t4 VecPhysical) {
		VMOVAPS(x, t4)
		VMULPS(x, x, x)                   // x²
		VMOVUPS(mc(tb, "gc2"), t1)        //
		VFMADD213PS(mc(tb, "gc1"), x, t1) // gc2·x² + gc1
		VMULPS(t1, t4, x)                 // ·x
		tanhBody(s, tb, x, t1, t2, t3)
		VADDPS(mc(tb, "one"), x, x)
		VMULPS(mc(tb, "half"), t4, t4)
		VMULPS(t4, x, x)
	})
}

// tanhBody sets x = tanh(x): for large |x|, 1 - 2/(e**(2|x|)+1) with x's
// sign; below 0.625 an odd polynomial. t1, t2, t3 are scratch.
func tanhBody(s isa, tb Register, x, t1, t2, t3 VecPhysical) {
	// Large: 1 - 2/(e**(2|x|)+1) with x's sign; small: odd polynomial.
	vand(s, mc(tb, "abs"), x, t3)
	VADDPS(t3, t3, t3)
	expCore(s, tb, t3, t1, t2)
	VADDPS(mc(tb, "one"), t3, t3)
	VMOVUPS(mc(tb, "two"), t1)
	VDIVPS(t3, t1, t3)
	VMOVUPS(mc(tb, "one"), t1)
	VSUBPS(t3, t1, t3) // |tanh|
	vand(s, mc(tb, "sign"), x, t1)
	vor(s, t1, t3, t3) // with x's sign
	// small
	VMULPS(x, x, t1) // z
	VMOVUPS(mc(tb, "t0"), t2)
	for _, c := range []string{"t1", "t2", "t3", "t4"} {
		VFMADD213PS(mc(tb, c), t1, t2)
	}
	VMULPS(t1, t2, t2)    // ·z
	VFMADD213PS(x, x, t2) // ·x + x
	vand(s, mc(tb, "abs"), x, t1)
	blendLess(s, tb, t1, "tanhLo", t2, t3, x, t1)
}

// erfBody sets x = erf(x): for |x| >= 1, 1 - p(t)·e**(-x²) with t =
// 1/(1+0.3275911|x|) and x's sign; below, x·poly(x²). t1, t2, t3 are
// scratch.
func erfBody(s isa, tb Register, x, t1, t2, t3 VecPhysical) {
	// Large: 1 - p(t)·e**(-x²), t = 1/(1+0.3275911|x|), with x's sign.
	VMULPS(x, x, t3)
	vxor(s, mc(tb, "sign"), t3, t3) // -x²
	expCore(s, tb, t3, t1, t2)
	vand(s, mc(tb, "abs"), x, t1)
	VMOVUPS(mc(tb, "aP"), t2)
	VFMADD213PS(mc(tb, "one"), t2, t1) // 1 + aP·|x|
	VMOVUPS(mc(tb, "one"), t2)
	VDIVPS(t1, t2, t1) // t
	VMOVUPS(mc(tb, "a1"), t2)
	for _, c := range []string{"a2", "a3", "a4", "a5"} {
		VFMADD213PS(mc(tb, c), t1, t2)
	}
	VMULPS(t1, t2, t2) // p
	VMULPS(t2, t3, t3)
	VMOVUPS(mc(tb, "one"), t1)
	VSUBPS(t3, t1, t3)
	vand(s, mc(tb, "sign"), x, t1)
	vor(s, t1, t3, t3)
	// small: x·poly(x²)
	VMULPS(x, x, t1)
	VMOVUPS(mc(tb, "e0"), t2)
	for _, c := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		VFMADD213PS(mc(tb, c), t1, t2)
	}
	VMULPS(x, t2, t2)
	vand(s, mc(tb, "abs"), x, t1)
	blendLess(s, tb, t1, "one", t2, t3, x, t1)
}
