package tensor

import (
	"testing"
	"unsafe"
)

func TestHostPoolReuses(t *testing.T) {
	var p HostPool
	a, err := p.New(Float32, Shape{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := View[float32](a)
	v[5] = 7
	r, _ := a.Reshape(Shape{6})
	if !a.SameStorage(r) || a.SameStorage(nil) {
		t.Fatal("SameStorage")
	}
	p.Put(a)
	b, _ := p.New(Int32, Shape{6}) // same byte size: the same storage
	w, _ := View[int32](b)
	if unsafe.Pointer(&w[0]) != unsafe.Pointer(&v[0]) {
		t.Fatal("storage not reused")
	}
	c, _ := p.New(Float32, Shape{6}) // pool empty: fresh and zeroed
	if x, _ := View[float32](c); x[5] != 0 {
		t.Fatal("fresh tensor not zeroed")
	}
	small := HostPool{Limit: 8}
	small.Put(c) // over the limit: dropped
	if d, _ := small.New(Float32, Shape{6}); d.SameStorage(c) {
		t.Fatal("kept beyond the limit")
	}
}
