package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The float32 activation and softmax helpers behind the fused operators
// (kernels/activation.go, kernels/attention.go), 8 lanes of AVX2+FMA per
// step. Each follows the scalar algorithm of package kernels:
//
//   - exp(a) for a <= 0: n = round(a·log2 e), r = a - n·ln 2 (in two
//     parts), the Cephes expf polynomial in r, times 2**n built in the
//     exponent bits. Arguments below -87.3 give 0.
//   - sigmoid(u) = 1/(1+e) for u >= 0 and e/(1+e) below, e = exp(-|u|).
//   - tanh(x): the Cephes polynomial below |x| = 0.625, (1-e)/(1+e) with
//     e = exp(-2|x|) above, sign copied from x.
//   - erf(z): the Cephes polynomial below |z| = 1, Abramowitz–Stegun 7.1.26
//     above, sign copied from z.
//
// Constants are 8-lane vectors in read-only data, used as memory operands,
// except the clamps, kept in registers so that their operand order returns
// a NaN input unchanged.

// vconst is one 32-byte constant.
type vconst struct {
	name string
	bits uint32
}

var actConstList = []vconst{
	{"one", math.Float32bits(1)},
	{"half", math.Float32bits(0.5)},
	{"lo", math.Float32bits(-87.33654)},
	{"log2e", math.Float32bits(1.44269504088896341)},
	{"ln2hi", math.Float32bits(0.693359375)},
	{"ln2lo", math.Float32bits(-2.12194440e-4)},
	{"p0", math.Float32bits(1.9875691500e-4)},
	{"p1", math.Float32bits(1.3981999507e-3)},
	{"p2", math.Float32bits(8.3334519073e-3)},
	{"p3", math.Float32bits(4.1665795894e-2)},
	{"p4", math.Float32bits(1.6666665459e-1)},
	{"p5", math.Float32bits(5.0000001201e-1)},
	{"sign", 0x80000000},
	{"abs", 0x7fffffff},
	{"m2", math.Float32bits(-2)},
	{"gc1", math.Float32bits(2 * 0.7978845608028654)},
	{"gc2", math.Float32bits(2 * 0.7978845608028654 * 0.044715)},
	{"tanhlo", math.Float32bits(0.625)},
	{"t0", math.Float32bits(-5.70498872745e-3)},
	{"t1", math.Float32bits(2.06390887954e-2)},
	{"t2", math.Float32bits(-5.37397155531e-2)},
	{"t3", math.Float32bits(1.33314422036e-1)},
	{"t4", math.Float32bits(-3.33332819422e-1)},
	{"rsqrt2", math.Float32bits(0.70710678118654752)},
	{"e0", math.Float32bits(7.853861353153693e-5)},
	{"e1", math.Float32bits(-8.010193625184903e-4)},
	{"e2", math.Float32bits(5.188327685732524e-3)},
	{"e3", math.Float32bits(-2.685381193529856e-2)},
	{"e4", math.Float32bits(1.128358514861418e-1)},
	{"e5", math.Float32bits(-3.761262582423300e-1)},
	{"e6", math.Float32bits(1.128379165726710)},
	{"as", math.Float32bits(0.3275911)},
	{"a1", math.Float32bits(0.254829592)},
	{"a2", math.Float32bits(-0.284496736)},
	{"a3", math.Float32bits(1.421413741)},
	{"a4", math.Float32bits(-1.453152027)},
	{"a5", math.Float32bits(1.061405429)},
}

// kc holds the constants' memory operands by name.
var kc = map[string]Mem{}

// actConsts emits the constant table (before any function that uses it).
func actConsts() {
	for _, c := range actConstList {
		m := GLOBL("actc_"+c.name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(c.bits))
		}
		kc[c.name] = m
	}
}

// loadConst broadcasts a constant into a register.
func loadConst(name string, r VecPhysical) { VMOVUPS(kc[name], r) }

// expNeg sets out = exp(a) for a in [lo, 0] (a already clamped), using
// a, n and z as scratch (a is destroyed); out is a fourth register.
func expNeg(a, n, z, out VecPhysical) {
	VMULPS(kc["log2e"], a, n)       // n = round(a·log2 e)
	VROUNDPS(Imm(0), n, n)          //
	VFNMADD231PS(kc["ln2hi"], n, a) // r = a - n·ln 2
	VFNMADD231PS(kc["ln2lo"], n, a) //
	VCVTPS2DQ(n, n)                 // 2**n from the exponent bits
	VPSLLD(Imm(23), n, n)           //
	VPADDD(kc["one"], n, n)         //
	VMULPS(a, a, z)                 // z = r²
	VMOVUPS(kc["p0"], out)          // the polynomial
	VFMADD213PS(kc["p1"], a, out)
	VFMADD213PS(kc["p2"], a, out)
	VFMADD213PS(kc["p3"], a, out)
	VFMADD213PS(kc["p4"], a, out)
	VFMADD213PS(kc["p5"], a, out)
	VADDPS(kc["one"], a, a) // out = out·r² + r + 1
	VFMADD213PS(a, z, out)  //
	VMULPS(n, out, out)     // times 2**n
}

// actElementwise emits a function func(dst, src *float32, n int) looping over
// 8 lanes at a time (n a multiple of 8); body maps x (loaded) to the
// result register it returns, with the registers of regs free to use.
func actElementwise(name, doc string, body func(x VecPhysical, free []VecPhysical) VecPhysical, setup func()) {
	TEXT(name, NOSPLIT, "func(dst *float32, src *float32, n int)")
	Pragma("noescape")
	Doc(doc)
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	if setup != nil {
		setup()
	}
	Label(name + "_loop")
	CMPQ(n, Imm(8))
	JL(LabelRef(name + "_done"))
	VMOVUPS(Mem{Base: src}, Y0)
	res := body(Y0, []VecPhysical{Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11})
	VMOVUPS(res, Mem{Base: dst})
	ADDQ(Imm(32), src)
	ADDQ(Imm(32), dst)
	SUBQ(Imm(8), n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// Registers kept across iterations by the kernels that clamp.
var (
	regLo   = Y15 // -87.33654
	regSign = Y14 // sign bit
)

func loadClampRegs() {
	loadConst("lo", regLo)
	loadConst("sign", regSign)
}

// activations emits the activation kernels.
func activations() {
	actConsts()
	one := Y13 // 1.0, for the division (its dividend must be a register)
	setup := func() {
		loadClampRegs()
		loadConst("one", one)
	}
	sig := func(u VecPhysical, f []VecPhysical) VecPhysical {
		a, n, z, e, r, mask := f[0], f[1], f[2], f[3], f[4], f[7]
		VORPS(regSign, u, a)           // a = -|u|
		VCMPPS(Imm(5), regLo, a, mask) // not (a < lo), NaN included
		VMAXPS(a, regLo, a)            // max(lo, a), a returned when NaN
		expNeg(a, n, z, e)
		VANDPS(mask, e, e) // exp underflows to 0 below lo
		VADDPS(one, e, r)
		VDIVPS(r, one, r)
		VMULPS(r, e, e)
		VBLENDVPS(u, e, r, r)
		return r
	}
	actElementwise("geluTanhAVX2", "geluTanhAVX2 is x·sigmoid(2·√(2/π)·(x + 0.044715x³)) on 8 lanes (see package gen).", func(x VecPhysical, f []VecPhysical) VecPhysical {
		u := f[5]
		VMULPS(x, x, u)                 // u = x²
		VMOVUPS(kc["gc2"], f[6])        // u = (c2·x² + c1)·x
		VFMADD213PS(kc["gc1"], u, f[6]) //
		VMULPS(x, f[6], u)              //
		r := sig(u, f)
		VMULPS(x, r, r)
		return r
	}, setup)
	actElementwise("geluAVX2", "geluAVX2 is x/2·(1 + erf(x/√2)) on 8 lanes (see package gen).", func(x VecPhysical, f []VecPhysical) VecPhysical {
		zz, az, a, n, w, e, t, p, m := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
		VMULPS(kc["rsqrt2"], x, zz) // z = x/√2
		VANDPS(kc["abs"], zz, az)   // |z|
		// Large |z|: 1 - p(t)·exp(-z²), t = 1/(1 + 0.3275911|z|).
		VMOVUPS(kc["as"], t)
		VFMADD213PS(one, az, t) // t = 0.3275911|z| + 1
		VDIVPS(t, one, t)       // t = 1/t
		VMOVUPS(kc["a5"], p)
		VFMADD213PS(kc["a4"], t, p)
		VFMADD213PS(kc["a3"], t, p)
		VFMADD213PS(kc["a2"], t, p)
		VFMADD213PS(kc["a1"], t, p)
		VMULPS(t, p, p)
		VMULPS(az, az, a) // a = max(lo, -z²)
		VXORPS(regSign, a, a)
		VMAXPS(a, regLo, a)
		expNeg(a, n, w, e)
		VMULPS(e, p, p)   // erf(|z|) = 1 - p·e
		VSUBPS(p, one, p) //
		// Small |z|: z·P(z²).
		VMULPS(zz, zz, w)
		VMOVUPS(kc["e0"], t)
		VFMADD213PS(kc["e1"], w, t)
		VFMADD213PS(kc["e2"], w, t)
		VFMADD213PS(kc["e3"], w, t)
		VFMADD213PS(kc["e4"], w, t)
		VFMADD213PS(kc["e5"], w, t)
		VFMADD213PS(kc["e6"], w, t)
		VMULPS(zz, t, t)
		VANDPS(regSign, zz, m)     // large result with the sign of z
		VORPS(m, p, p)             //
		VCMPPS(Imm(1), one, az, m) // |z| < 1 (false for NaN)
		VBLENDVPS(m, t, p, p)
		VADDPS(one, p, p) // x/2·(1 + erf)
		VMULPS(kc["half"], x, t)
		VMULPS(t, p, p)
		return p
	}, setup)
	piecewise()
	softmaxHelpers()
}

// piecewise emits the piecewise-linear activations, with their parameters
// as arguments: leakyAVX2, hardSigmoidAVX2 and hardSwishAVX2,
// func(dst, src *float32, n int, a, b float32) with n a multiple of 8. Operand order keeps a NaN input NaN.
func piecewise() {
	emit := func(name, doc string, body func(x, a, b, t VecPhysical)) {
		TEXT(name, NOSPLIT, "func(dst *float32, src *float32, n int, a float32, b float32)")
		Pragma("noescape")
		Doc(doc)
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		n := Load(Param("n"), GP64())
		for i, p := range []string{"a", "b"} {
			v, err := Param(p).Resolve()
			if err != nil {
				panic(err)
			}
			VBROADCASTSS(v.Addr, []VecPhysical{Y14, Y15}[i])
		}
		loadConst("one", Y13)
		VXORPS(Y12, Y12, Y12)
		Label(name + "_loop")
		CMPQ(n, Imm(8))
		JL(LabelRef(name + "_done"))
		VMOVUPS(Mem{Base: src}, Y0)
		body(Y0, Y14, Y15, Y1)
		VMOVUPS(Y0, Mem{Base: dst})
		ADDQ(Imm(32), src)
		ADDQ(Imm(32), dst)
		SUBQ(Imm(8), n)
		JMP(LabelRef(name + "_loop"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
	emit("leakyAVX2", "leakyAVX2 is x < 0 ? a·x : x on 8 lanes (see package gen).", func(x, a, b, t VecPhysical) {
		VMULPS(a, x, t)
		VBLENDVPS(x, t, x, x)
	})
	emit("hardSigmoidAVX2", "hardSigmoidAVX2 is max(0, min(1, a·x + b)) on 8 lanes (see package gen).", func(x, a, b, t VecPhysical) {
		VFMADD213PS(b, a, x) // x = x·a + b
		VMAXPS(x, Y12, x)    // Intel max(0, x), min(1, x): x when NaN
		VMINPS(x, Y13, x)
	})
	emit("hardSwishAVX2", "hardSwishAVX2 is x·max(0, min(1, a·x + b)) on 8 lanes, a = 1/6 and b = 1/2 for HardSwish (see package gen).", func(x, a, b, t VecPhysical) {
		VMOVAPS(x, t)
		VFMADD213PS(b, a, t) // t = x·a + b
		VMAXPS(t, Y12, t)
		VMINPS(t, Y13, t)
		VMULPS(t, x, x)
	})
}

// softmaxHelpers emits the row operations of the attention softmax.
func softmaxHelpers() {
	// maxAVX2(src *float32, n int) float32: the largest of n (a positive
	// multiple of 8) values.
	TEXT("maxAVX2", NOSPLIT, "func(src *float32, n int) float32")
	Pragma("noescape")
	Doc("maxAVX2 returns the largest of n values, n a positive multiple of 8 (see package gen).")
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	VMOVUPS(Mem{Base: src}, Y0)
	ADDQ(Imm(32), src)
	SUBQ(Imm(8), n)
	Label("max_loop")
	CMPQ(n, Imm(8))
	JL(LabelRef("max_done"))
	VMAXPS(Mem{Base: src}, Y0, Y0)
	ADDQ(Imm(32), src)
	SUBQ(Imm(8), n)
	JMP(LabelRef("max_loop"))
	Label("max_done")
	horizontal(VMAXPS, VMAXSS)
	Store(X0, ReturnIndex(0))
	VZEROUPPER()
	RET()

	// expShiftSumAVX2(dst, src *float32, n int, shift float32) float32:
	// dst[i] = exp(src[i] - shift) for src[i] <= shift, returning the sum.
	TEXT("expShiftSumAVX2", NOSPLIT, "func(dst *float32, src *float32, n int, shift float32) float32")
	Pragma("noescape")
	Doc("expShiftSumAVX2 sets dst[i] = exp(src[i]-shift) for n (a multiple of 8) values at most shift, and returns their sum (see package gen).")
	dst := Load(Param("dst"), GP64())
	src = Load(Param("src"), GP64())
	n = Load(Param("n"), GP64())
	sh, err := Param("shift").Resolve()
	if err != nil {
		panic(err)
	}
	shift := Y12
	VBROADCASTSS(sh.Addr, shift)
	loadClampRegs()
	sum := Y0
	VXORPS(sum, sum, sum)
	Label("exps_loop")
	CMPQ(n, Imm(8))
	JL(LabelRef("exps_done"))
	a, nn, z, e, mask := Y1, Y2, Y3, Y4, Y5
	VMOVUPS(Mem{Base: src}, a)
	VSUBPS(shift, a, a)
	VCMPPS(Imm(5), regLo, a, mask) // not (a < lo): kept, NaN included
	VMAXPS(a, regLo, a)
	expNeg(a, nn, z, e)
	VANDPS(mask, e, e) // exp underflows to 0 below lo (masked scores)
	VMOVUPS(e, Mem{Base: dst})
	VADDPS(e, sum, sum)
	ADDQ(Imm(32), src)
	ADDQ(Imm(32), dst)
	SUBQ(Imm(8), n)
	JMP(LabelRef("exps_loop"))
	Label("exps_done")
	horizontal(VADDPS, VADDSS)
	Store(X0, ReturnIndex(0))
	VZEROUPPER()
	RET()

	// scaleAVX2(x *float32, n int, s float32): x[i] *= s.
	TEXT("scaleAVX2", NOSPLIT, "func(x *float32, n int, s float32)")
	Pragma("noescape")
	Doc("scaleAVX2 multiplies n (a multiple of 8) values by s in place (see package gen).")
	x := Load(Param("x"), GP64())
	n = Load(Param("n"), GP64())
	sp, err := Param("s").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(sp.Addr, Y1)
	Label("scale_loop")
	CMPQ(n, Imm(8))
	JL(LabelRef("scale_done"))
	VMULPS(Mem{Base: x}, Y1, Y0)
	VMOVUPS(Y0, Mem{Base: x})
	ADDQ(Imm(32), x)
	SUBQ(Imm(8), n)
	JMP(LabelRef("scale_loop"))
	Label("scale_done")
	VZEROUPPER()
	RET()
}

// horizontal reduces the 8 lanes of Y0 into the low lane of X0 with the
// packed op and its scalar form.
func horizontal(packed, scalar func(...Op)) {
	VEXTRACTF128(Imm(1), Y0, X1)
	packed(X1, X0, X0)
	VMOVHLPS(X0, X0, X1)
	packed(X1, X0, X0)
	VMOVSHDUP(X0, X1)
	scalar(X1, X0, X0)
}
