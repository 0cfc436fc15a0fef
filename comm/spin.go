//go:build unix

package comm

import (
	"io"
	"net"
	"syscall"
	"time"
)

// spinReader reads a TCP connection polling for a short while before
// parking on the network poller. A parked goroutine costs a wake-up of its
// thread when data arrives, tens to hundreds of microseconds on a busy
// host, once per message and twice per round trip: the whole budget of a
// 1 MiB all-reduce between two ranks. MPI libraries busy-poll for the same
// reason. It spins only while this host has a core for every rank: with
// more ranks than cores, a spinning rank would take the core of the very
// peer it is waiting for.
type spinReader struct {
	c    net.Conn
	raw  syscall.RawConn
	spin time.Duration
}

func newSpinReader(c net.Conn, spin time.Duration) io.Reader {
	if spin <= 0 {
		return c
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &spinReader{c: c, raw: raw, spin: spin}
}

func (s *spinReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n     int
		rerr  error
		until time.Time
	)
	err := s.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			if rerr != syscall.EAGAIN {
				return true
			}
			if until.IsZero() {
				until = time.Now().Add(s.spin)
			} else if time.Now().After(until) {
				return false // park on the poller; it calls again when readable
			}
		}
	})
	switch {
	case err != nil:
		return 0, err // a deadline, or the connection closed
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
