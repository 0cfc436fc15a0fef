package tensor

import (
	"fmt"
	"strings"
)

// maxShown is how many values String prints before "...".
const maxShown = 8

// String summarizes t as "float32[2 3] [1 2 3 4 5 6]" for host tensors and
// "float32[2 3] on cpu:0 [...]" for device ones; values appear only when
// the storage is host-readable, and only the first few.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v%v", t.dtype, t.shape)
	if d := t.Device(); d != nil {
		b.WriteString(" on ")
		b.WriteString(deviceName(d))
	}
	switch {
	case t.st == nil:
		b.WriteString(" (no storage)")
		return b.String()
	case t.st.freed.Load():
		b.WriteString(" (freed)")
		return b.String()
	}
	n := min(t.Len(), maxShown)
	var vals []string
	if t.dtype == String {
		for _, s := range t.st.strs[:n] {
			vals = append(vals, fmt.Sprintf("%q", s))
		}
	} else if raw, ok := t.HostBytes(); ok {
		vals = formatValues(t.dtype, raw[:n*t.dtype.Size()])
	} else {
		return b.String()
	}
	b.WriteString(" [")
	b.WriteString(strings.Join(vals, " "))
	if t.Len() > n {
		b.WriteString(" ...")
	}
	b.WriteByte(']')
	return b.String()
}

// formatValues decodes raw elements of type dt for printing. It copies
// them first, so that storage of any alignment can be shown.
func formatValues(dt DType, raw []byte) []string {
	switch dt {
	case Float32:
		return format[float32](raw)
	case Float64:
		return format[float64](raw)
	case Float16:
		return formatConv(raw, F16.Float32)
	case BFloat16:
		return formatConv(raw, BF16.Float32)
	case Int8:
		return format[int8](raw)
	case Int16:
		return format[int16](raw)
	case Int32:
		return format[int32](raw)
	case Int64:
		return format[int64](raw)
	case Uint8:
		return format[uint8](raw)
	case Uint16:
		return format[uint16](raw)
	case Uint32:
		return format[uint32](raw)
	case Uint64:
		return format[uint64](raw)
	case Bool:
		normalized := append([]byte(nil), raw...)
		normalizeBools(normalized)
		return format[bool](normalized)
	case Complex64:
		return format[complex64](raw)
	case Complex128:
		return format[complex128](raw)
	}
	return nil
}

func decode[T Element](raw []byte) []T {
	vals := make([]T, len(raw)/DTypeOf[T]().Size())
	copy(bytesOf(vals), raw)
	return vals
}

func format[T Element](raw []byte) []string {
	var out []string
	for _, v := range decode[T](raw) {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func formatConv[T F16 | BF16](raw []byte, f func(T) float32) []string {
	var out []string
	for _, v := range decode[T](raw) {
		out = append(out, fmt.Sprint(f(v)))
	}
	return out
}
