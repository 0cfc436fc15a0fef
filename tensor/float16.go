package tensor

import "math"

// F16 is an IEEE 754 binary16 value, held as its bits. (It cannot be named
// Float16: that is the DType constant.) Arithmetic is done in float32.
type F16 uint16

// BF16 is a bfloat16 value (the top half of a float32), held as its bits.
type BF16 uint16

// Float16FromFloat32 rounds f to the nearest binary16 value, ties to even.
// Values beyond the largest finite half (65504) round to ±Inf as IEEE
// requires, tiny ones to subnormals or a signed zero; a NaN stays NaN, made
// quiet, with the top of its payload and its sign.
func Float16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return F16(sign | 0x7c00)
		}
		return F16(sign | 0x7e00 | uint16(mant>>13))
	}
	e := exp - 127 + 15 // the biased exponent in half precision
	if e >= 0x1f {
		return F16(sign | 0x7c00)
	}
	if e <= 0 {
		// Subnormal result: value = m * 2^(exp-150) with the implicit bit,
		// and a half subnormal counts units of 2^-24, hence the shift.
		if e < -10 {
			return F16(sign) // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		r := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && r&1 == 1 {
			r++ // may carry into the smallest normal, whose encoding follows
		}
		return F16(sign | uint16(r))
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is right, up to Inf (0x7c00)
	}
	return F16(sign | uint16(h))
}

// Float32 returns h exactly as a float32 (every half value is one).
func (h F16) Float32() float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		// Zero or subnormal: mant units of 2^-24, exact in float32.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// BFloat16FromFloat32 rounds f to the nearest bfloat16, ties to even;
// overflow gives ±Inf and a NaN stays NaN, made quiet.
func BFloat16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return BF16(b>>16 | 0x0040)
	}
	// Adding 0x7fff plus the kept low bit rounds to nearest, ties to even;
	// a carry runs into the exponent and, at the top, to Inf.
	return BF16((b + 0x7fff + (b>>16)&1) >> 16)
}

// Float32 returns b exactly as a float32.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }
