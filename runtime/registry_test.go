package runtime_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
)

// brokenBackend stands for a backend whose library is missing.
type brokenBackend struct{ name string }

func (b brokenBackend) Name() string { return b.name }
func (b brokenBackend) Devices() ([]runtime.Device, error) {
	return nil, fmt.Errorf("libOpenCL.so.1 not found: %w", runtime.ErrNotFound)
}
func (b brokenBackend) Close() error { return nil }

func TestRegistry(t *testing.T) {
	c, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := runtime.NewRegistry(c, brokenBackend{"opencl"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	for _, id := range []string{"cpu", "cpu:0"} {
		d, err := reg.Open(id)
		if err != nil || d.Properties().ID() != "cpu:0" {
			t.Errorf("Open(%q) = %v, %v", id, d, err)
		}
	}
	for id, want := range map[string]error{
		"cpu:1":    runtime.ErrNotFound,
		"tpu":      runtime.ErrNotFound,
		"opencl:0": runtime.ErrNotFound,
		"":         runtime.ErrInvalidArgument,
		"cpu:x":    runtime.ErrInvalidArgument,
		"cpu:-1":   runtime.ErrInvalidArgument,
	} {
		if _, err := reg.Open(id); !errors.Is(err, want) {
			t.Errorf("Open(%q): err = %v, want %v", id, err, want)
		}
	}

	// A broken backend is reported but does not hide the CPU.
	devs, err := reg.Devices()
	if len(devs) != 1 || !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Devices() = %d devices, err %v", len(devs), err)
	}

	for name, b := range map[string]runtime.Backend{
		"duplicate": brokenBackend{"cpu"},
		"nil":       nil,
		"colon":     brokenBackend{"a:b"},
		"empty":     brokenBackend{""},
	} {
		if err := reg.Register(b); !errors.Is(err, runtime.ErrInvalidArgument) {
			t.Errorf("Register(%s): err = %v", name, err)
		}
	}
}

func TestCheckRange(t *testing.T) {
	for _, tt := range []struct {
		size, off, n int64
		ok           bool
	}{
		{10, 0, 10, true}, {10, 10, 0, true}, {10, 5, 5, true}, {0, 0, 0, true},
		{10, 5, 6, false}, {10, -1, 1, false}, {10, 0, -1, false}, {10, 11, 0, false},
		{10, 1, 1<<63 - 1, false}, // off+n overflows
	} {
		err := runtime.CheckRange("copy", tt.size, tt.off, tt.n)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, runtime.ErrInvalidArgument)) {
			t.Errorf("CheckRange(size %d, off %d, n %d) = %v", tt.size, tt.off, tt.n, err)
		}
	}
}
