package standard

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Cast and CastLike between every pair of numeric, bool and string types.
// Numbers convert as C does (floats to integers truncate toward zero; to
// bool, nonzero and NaN are true). Strings parse as decimal or scientific
// numbers, "NaN", "INF", "+INF", "-INF" (any case), and booleans also as
// "true"/"false"; numbers print as the shortest string that reads back to
// the same value, in numpy's style ("0.5", "1.0", "1e-05"), with NaN as
// "NaN" and infinities as "INF" and "-INF", and booleans as "1" and "0".

var castTypes = ewTypes(numericTypes, tensor.Bool, tensor.String)

func prepareCast(n *ops.Node) (*ops.Plan, error) {
	if err := ewTensorInput(n, 0, castTypes); err != nil {
		return nil, err
	}
	var to tensor.DType
	a := n.Attrs
	if n.OpType == "CastLike" {
		if err := checkType(n, 1, castTypes); err != nil {
			return nil, err
		}
		to = n.Inputs[1].DType
	} else {
		a.Require("to")
		if at, ok := a.Map()["to"]; ok && at.Type == ops.AttrString {
			// Opset 1 names the type ("FLOAT"); later opsets give its number.
			dt, err := tensor.ParseDType(at.String)
			if err != nil {
				return nil, n.Errorf("to: %v", err)
			}
			to = dt
		} else {
			to = tensor.DType(a.Int("to", 0))
		}
	}
	sat := a.Int("saturate", 1) // only float8 targets, which we do not have, saturate
	if err := a.Err(); err != nil {
		return nil, err
	}
	if sat != 0 && sat != 1 {
		return nil, n.Errorf("saturate must be 0 or 1, got %d", sat)
	}
	if !to.Valid() || !slices.Contains(castTypes, to) {
		return nil, n.Errorf("cannot cast to %s", to)
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		y, err := env.Output(out, 0, to, in[0].Shape())
		if err != nil {
			return err
		}
		return castInto(env, y, in[0])
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(to, n.Inputs[0].Shape.Clone())}, Kernel: k}, nil
}

// castInto converts src into dst, of the same shape.
func castInto(env *ops.Env, dst, src *tensor.Tensor) error {
	from, to := src.DType(), dst.DType()
	switch {
	case from == to && from == tensor.String:
		s, err := src.Strings()
		if err != nil {
			return err
		}
		d, err := tensor.View[string](dst)
		if err != nil {
			return err
		}
		copy(d, s)
		return nil
	case from == to:
		s, ok1 := src.HostBytes()
		d, ok2 := dst.HostBytes()
		if !ok1 || !ok2 {
			return errorf("Cast: tensors not on the host")
		}
		copy(d, s)
		return nil
	case to == tensor.String:
		return castToString(env, dst, src)
	case from == tensor.String:
		return castFromString(dst, src)
	}
	// Half types and bool pass through float32 and uint8 on the way in;
	// half outputs through a float32 buffer on the way out.
	switch from {
	case tensor.Float16, tensor.BFloat16:
		w, err := widen(src)
		if err != nil {
			return err
		}
		src = w
	case tensor.Bool:
		b, err := tensor.View[bool](src)
		if err != nil {
			return err
		}
		u := make([]uint8, len(b))
		for i, v := range b {
			if v {
				u[i] = 1
			}
		}
		w, err := tensor.FromSlice(u, src.Shape()...)
		if err != nil {
			return err
		}
		src = w
	}
	if to == tensor.Float16 || to == tensor.BFloat16 {
		w, err := tensor.New(tensor.Float32, dst.Shape())
		if err != nil {
			return err
		}
		if err := castNumeric(env, w, src); err != nil {
			return err
		}
		return narrow(dst, w)
	}
	return castNumeric(env, dst, src)
}

// castNumeric converts between the types of the number constraint, and
// from them to bool.
func castNumeric(env *ops.Env, dst, src *tensor.Tensor) error {
	switch src.DType() {
	case tensor.Float32:
		return castFrom[float32](env, dst, src)
	case tensor.Float64:
		return castFrom[float64](env, dst, src)
	case tensor.Int8:
		return castFrom[int8](env, dst, src)
	case tensor.Int16:
		return castFrom[int16](env, dst, src)
	case tensor.Int32:
		return castFrom[int32](env, dst, src)
	case tensor.Int64:
		return castFrom[int64](env, dst, src)
	case tensor.Uint8:
		return castFrom[uint8](env, dst, src)
	case tensor.Uint16:
		return castFrom[uint16](env, dst, src)
	case tensor.Uint32:
		return castFrom[uint32](env, dst, src)
	case tensor.Uint64:
		return castFrom[uint64](env, dst, src)
	}
	return errorf("Cast: unsupported source type %s", src.DType())
}

func castFrom[S number](env *ops.Env, dst, src *tensor.Tensor) error {
	s, err := tensor.View[S](src)
	if err != nil {
		return err
	}
	switch dst.DType() {
	case tensor.Float32:
		return castSlice[S, float32](env, dst, s)
	case tensor.Float64:
		return castSlice[S, float64](env, dst, s)
	case tensor.Int8:
		return castSlice[S, int8](env, dst, s)
	case tensor.Int16:
		return castSlice[S, int16](env, dst, s)
	case tensor.Int32:
		return castSlice[S, int32](env, dst, s)
	case tensor.Int64:
		return castSlice[S, int64](env, dst, s)
	case tensor.Uint8:
		return castSlice[S, uint8](env, dst, s)
	case tensor.Uint16:
		return castSlice[S, uint16](env, dst, s)
	case tensor.Uint32:
		return castSlice[S, uint32](env, dst, s)
	case tensor.Uint64:
		return castSlice[S, uint64](env, dst, s)
	case tensor.Bool:
		d, err := tensor.View[bool](dst)
		if err != nil {
			return err
		}
		env.ParallelFor(len(s), ewParallelGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d[i] = s[i] != 0 // NaN != 0 too
			}
		})
		return nil
	}
	return errorf("Cast: unsupported target type %s", dst.DType())
}

// castSlice converts with Go's conversions, which are C's for in-range
// values; out-of-range floats to integers give an unspecified value, as in C.
func castSlice[S, D number](env *ops.Env, dst *tensor.Tensor, s []S) error {
	d, err := tensor.View[D](dst)
	if err != nil {
		return err
	}
	env.ParallelFor(len(s), ewParallelGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = D(s[i])
		}
	})
	return nil
}

// Strings.

func castToString(env *ops.Env, dst, src *tensor.Tensor) error {
	d, err := tensor.View[string](dst)
	if err != nil {
		return err
	}
	var at func(i int) string
	switch src.DType() {
	case tensor.Bool:
		s, err := tensor.View[bool](src)
		if err != nil {
			return err
		}
		at = func(i int) string {
			if s[i] {
				return "1"
			}
			return "0"
		}
	case tensor.Float32:
		s, err := tensor.View[float32](src)
		if err != nil {
			return err
		}
		at = func(i int) string { return castFormatFloat(float64(s[i]), 32) }
	case tensor.Float64:
		s, err := tensor.View[float64](src)
		if err != nil {
			return err
		}
		at = func(i int) string { return castFormatFloat(s[i], 64) }
	case tensor.Float16:
		s, err := tensor.View[tensor.F16](src)
		if err != nil {
			return err
		}
		at = func(i int) string { return castFormatHalf(s[i].Float32(), false) }
	case tensor.BFloat16:
		s, err := tensor.View[tensor.BF16](src)
		if err != nil {
			return err
		}
		at = func(i int) string { return castFormatHalf(s[i].Float32(), true) }
	case tensor.Int8:
		at = castIntFormatter[int8](src)
	case tensor.Int16:
		at = castIntFormatter[int16](src)
	case tensor.Int32:
		at = castIntFormatter[int32](src)
	case tensor.Int64:
		at = castIntFormatter[int64](src)
	case tensor.Uint8:
		at = castUintFormatter[uint8](src)
	case tensor.Uint16:
		at = castUintFormatter[uint16](src)
	case tensor.Uint32:
		at = castUintFormatter[uint32](src)
	case tensor.Uint64:
		at = castUintFormatter[uint64](src)
	}
	if at == nil {
		return errorf("Cast: cannot convert %s to string", src.DType())
	}
	env.ParallelFor(len(d), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = at(i)
		}
	})
	return nil
}

func castIntFormatter[T int8 | int16 | int32 | int64](t *tensor.Tensor) func(int) string {
	s, err := tensor.View[T](t)
	if err != nil {
		return nil
	}
	return func(i int) string { return strconv.FormatInt(int64(s[i]), 10) }
}

func castUintFormatter[T uint8 | uint16 | uint32 | uint64](t *tensor.Tensor) func(int) string {
	s, err := tensor.View[T](t)
	if err != nil {
		return nil
	}
	return func(i int) string { return strconv.FormatUint(uint64(s[i]), 10) }
}

// castFormatFloat prints the shortest decimal that reads back as v in the
// given precision, positional for magnitudes in [1e-4, 1e16) (with ".0"
// for whole numbers), scientific otherwise, as numpy's str does.
func castFormatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	if av := math.Abs(v); av == 0 || av >= 1e-4 && av < 1e16 {
		s := strconv.FormatFloat(v, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	return strconv.FormatFloat(v, 'e', -1, bits)
}

// castFormatHalf is castFormatFloat for float16 and bfloat16 values: the
// fewest significant digits that round back to the same half value.
func castFormatHalf(v float32, bf bool) string {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v == 0 {
		return castFormatFloat(float64(v), 32)
	}
	same := func(f float64) bool {
		if bf {
			return tensor.BFloat16FromFloat32(float32(f)) == tensor.BFloat16FromFloat32(v)
		}
		return tensor.Float16FromFloat32(float32(f)) == tensor.Float16FromFloat32(v)
	}
	for prec := 0; prec < 9; prec++ {
		s := strconv.FormatFloat(float64(v), 'e', prec, 32)
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && same(f) {
			return castFormatFloat(f, 64)
		}
	}
	return castFormatFloat(float64(v), 32)
}

func castFromString(dst, src *tensor.Tensor) error {
	s, err := src.Strings()
	if err != nil {
		return err
	}
	switch dt := dst.DType(); dt {
	case tensor.Float32:
		return castParse(dst, s, func(x string) (float32, error) {
			f, err := castParseFloat(x, 32)
			return float32(f), err
		})
	case tensor.Float64:
		return castParse(dst, s, func(x string) (float64, error) { return castParseFloat(x, 64) })
	case tensor.Float16:
		return castParse(dst, s, func(x string) (tensor.F16, error) {
			f, err := castParseFloat(x, 32)
			return tensor.Float16FromFloat32(float32(f)), err
		})
	case tensor.BFloat16:
		return castParse(dst, s, func(x string) (tensor.BF16, error) {
			f, err := castParseFloat(x, 32)
			return tensor.BFloat16FromFloat32(float32(f)), err
		})
	case tensor.Bool:
		return castParse(dst, s, func(x string) (bool, error) {
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
			f, err := castParseFloat(x, 64)
			return f != 0, err
		})
	case tensor.Int8:
		return castParse(dst, s, castParseInt[int8])
	case tensor.Int16:
		return castParse(dst, s, castParseInt[int16])
	case tensor.Int32:
		return castParse(dst, s, castParseInt[int32])
	case tensor.Int64:
		return castParse(dst, s, castParseInt[int64])
	case tensor.Uint8:
		return castParse(dst, s, castParseInt[uint8])
	case tensor.Uint16:
		return castParse(dst, s, castParseInt[uint16])
	case tensor.Uint32:
		return castParse(dst, s, castParseInt[uint32])
	case tensor.Uint64:
		return castParse(dst, s, castParseInt[uint64])
	default:
		return errorf("Cast: cannot convert string to %s", dt)
	}
}

func castParse[T tensor.Element](dst *tensor.Tensor, s []string, parse func(string) (T, error)) error {
	d, err := tensor.View[T](dst)
	if err != nil {
		return err
	}
	for i, x := range s {
		v, err := parse(x)
		if err != nil {
			return errorf("Cast: element %d: cannot convert %q to %s", i, x, dst.DType())
		}
		d[i] = v
	}
	return nil
}

// castParseFloat reads a number; values beyond the range become infinite.
func castParseFloat(s string, bits int) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, err
	}
	return f, nil
}

// castParseInt reads an integer (wrapping to T's width), or failing that a
// float truncated toward zero.
func castParseInt[T integer](s string) (T, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return T(v), nil
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		return T(v), nil
	}
	f, err := castParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return T(f), nil
}
