//go:build !(darwin || freebsd || linux || netbsd)

package opencl

import (
	"fmt"
	goruntime "runtime"
)

// Loading OpenCL is implemented where purego can dlopen; elsewhere the
// backend reports that it has no devices.

func dlopen(name string) (uintptr, error) {
	return 0, fmt.Errorf("loading %s is not implemented on %s", name, goruntime.GOOS)
}

func dlsym(uintptr, string) (uintptr, error) {
	return 0, fmt.Errorf("not implemented on %s", goruntime.GOOS)
}
