package comm

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux system calls behind the same-host paths: cross-memory reads
// (process_vm_readv), memfd segments shared through /proc, and futexes.
// Other systems get sys_other.go, where those paths are off and ranks talk
// over TCP.

const (
	futexWaitOp = 0 // FUTEX_WAIT, not private: the word is shared between processes
	futexWakeOp = 1 // FUTEX_WAKE
)

// allowPeerReads lets peers read this process's memory even where Yama
// restricts ptrace to descendants. Failure only means fallback.
func allowPeerReads() {
	unix.Prctl(unix.PR_SET_PTRACER, unix.PR_SET_PTRACER_ANY, 0, 0, 0)
}

// vmRead fills b from the memory of process pid at addr.
func vmRead(pid int, addr uint64, b []byte) error {
	for len(b) > 0 {
		local := []unix.Iovec{{Base: &b[0]}}
		local[0].SetLen(len(b))
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
		n, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if err != nil {
			return fmt.Errorf("process_vm_readv from pid %d: %w", pid, err)
		}
		if n <= 0 {
			return io.ErrUnexpectedEOF
		}
		b = b[n:]
		addr += uint64(n)
	}
	return nil
}

// createShm makes and maps a segment of n bytes.
func createShm(n int) (fd int, mem []byte, err error) {
	fd, err = unix.MemfdCreate("gocann-comm", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, nil, err
	}
	if err = unix.Ftruncate(fd, int64(n)); err == nil {
		mem, err = unix.Mmap(fd, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, mem, nil
}

// openShm maps the n-byte segment a peer process holds open as descriptor fd.
func openShm(pid, fd, n int) ([]byte, error) {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != int64(n) {
		return nil, fmt.Errorf("shared segment of pid %d: not %d bytes", pid, n)
	}
	return unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// closeShm closes the descriptor createShm returned (the mapping stays).
func closeShm(fd int) { unix.Close(fd) }

// unmapShm unmaps a segment.
func unmapShm(mem []byte) { unix.Munmap(mem) }

func futexWait(addr *atomic.Uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func futexWake(addr *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, uintptr(1<<31-1), 0, 0, 0)
}
