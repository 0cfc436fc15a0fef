//go:build !unix

package comm

import (
	"io"
	"net"
	"time"
)

// newSpinReader reads c directly: polling reads need Unix non-blocking
// sockets (spin.go).
func newSpinReader(c net.Conn, spin time.Duration) io.Reader { return c }
