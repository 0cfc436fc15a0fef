//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package main

import "os"

// isTTY: where the terminal ioctl is not wired up, no progress bar unless
// asked for.
func isTTY(*os.File) bool { return false }
