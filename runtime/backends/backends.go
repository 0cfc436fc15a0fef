// Package backends assembles a registry of every backend built into GoCANN.
// It is the one place that names them all, so adding a backend touches this
// file and the backend's own package, nothing else.
package backends

import (
	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/runtime/opencl"
)

// Options configure the built-in backends.
type Options struct {
	// Threads is the CPU backend's worker count; 0 means one per core.
	Threads int
	// OpenCL configures the OpenCL backend (library, program cache).
	OpenCL opencl.Options
}

// Registry returns a new registry with every built-in backend registered.
// The caller owns it and should Close it.
func Registry(opts Options) (*runtime.Registry, error) {
	c, err := cpu.New(cpu.Options{Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	// OpenCL is optional: without the library or a device the backend is
	// registered with no devices (opencl.Backend.Err says why).
	cl, err := opencl.New(opts.OpenCL)
	if err != nil {
		c.Close()
		return nil, err
	}
	reg, err := runtime.NewRegistry(c, cl)
	if err != nil {
		c.Close()
		cl.Close()
		return nil, err
	}
	return reg, nil
}
