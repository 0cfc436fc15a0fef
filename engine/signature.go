package engine

import (
	"strconv"
	"strings"

	"github.com/gocann/gocann/ops"
)

// signature keys a node's plan cache: the kinds, element types and shapes of
// its inputs, plus the contents of the value inputs (which the caller has
// already limited to the operator's declared ValueInputs).
func signature(types []ops.Type) string {
	var b strings.Builder
	for _, t := range types {
		b.WriteByte(byte('0' + t.Kind))
		b.WriteString(strconv.Itoa(int(t.DType)))
		if t.UnknownRank {
			b.WriteByte('?')
		}
		for _, d := range t.Shape {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(d))
		}
		if t.Value != nil {
			b.WriteByte('=')
			if raw, ok := t.Value.HostBytes(); ok {
				b.Write(raw)
			} else if strs, err := t.Value.Strings(); err == nil {
				for _, s := range strs {
					b.WriteString(strconv.Quote(s))
				}
			}
		}
		b.WriteByte(';')
	}
	return b.String()
}
