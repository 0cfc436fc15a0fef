//go:build unix

package compiled

import (
	"errors"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

var errNoMmap = errors.New("mmap unavailable")

// mmapFile maps the whole file read-only. MAP_PRIVATE: the mapping never
// writes back, and pages are shared with the page cache (and every other
// process mapping the file) until someone writes, which PROT_READ
// forbids.
func mmapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size > math.MaxInt {
		return nil, nil, fmt.Errorf("%d bytes cannot be mapped", size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		// Some file systems (and /proc-like files) cannot be mapped:
		// read the file instead.
		return nil, nil, fmt.Errorf("%w: %w", errNoMmap, err)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
