package tensor_test

import (
	"slices"
	"testing"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// The CPU backend's buffers are host-accessible: its tensors can be read in
// place, and still move through its streams.
func TestCPUBackend(t *testing.T) {
	ctx := t.Context()
	b, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dev := b.Device()
	s, err := dev.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool, err := runtime.NewPool(dev, runtime.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	want := []float64{1, 2, 3, 4, 5, 6}
	host, _ := tensor.FromSlice(want, 2, 3)
	for _, a := range []tensor.Allocator{dev, pool} {
		d, err := host.CopyTo(ctx, s, a)
		if err != nil {
			t.Fatal(err)
		}
		if d.Device() == nil {
			t.Fatal("CPU tensor has no device")
		}
		if _, ok := d.HostBytes(); !ok {
			t.Error("CPU tensor is not host-readable")
		}
		if got, err := tensor.ToSlice[float64](d); err != nil || !slices.Equal(got, want) {
			t.Errorf("ToSlice = %v, %v", got, err)
		}
		v, err := tensor.View[float64](d)
		if err != nil || !slices.Equal(v, want) {
			t.Errorf("View = %v, %v", v, err)
		}
		if got, want := d.String(), "float64[2 3] on cpu:0 [1 2 3 4 5 6]"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		d2, _ := tensor.NewOn(a, tensor.Float64, tensor.Shape{2, 3})
		if err := tensor.EnqueueCopy(s, d2, d); err != nil {
			t.Fatal(err)
		}
		back, err := d2.ToHost(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := tensor.ToSlice[float64](back); !slices.Equal(got, want) {
			t.Errorf("round trip = %v", got)
		}
		if err := d.Free(); err != nil {
			t.Error(err)
		}
		if err := d2.Free(); err != nil {
			t.Error(err)
		}
	}
	if st := pool.Stats(); st.InUse != 0 {
		t.Errorf("pool in use: %+v", st)
	}
}
