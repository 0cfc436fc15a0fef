//go:build !amd64 || purego

package kernels

// Without assembly the portable Go micro-kernel is the only variant.
