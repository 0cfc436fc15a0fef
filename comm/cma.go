package comm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// Cross-memory attach (Linux's process_vm_readv, which MPICH and UCX call
// CMA): between two ranks of one host, a large message need not be pushed
// through the loopback stack, which copies every byte twice (into the
// kernel and out). The sender sends only the header and its buffer's
// address over TCP; the receiver copies straight out of the sender's
// memory (or reduces from it through a cache-sized piece) and answers on
// a dedicated connection. The sender does not wait for that answer: it
// goes on with its next step, and the call waits for every answer
// (Transport.Flush) before it returns, so the buffers stay untouched and
// alive until read (Go's heap does not move objects). Whether the kernel
// lets a rank read a peer's memory (ptrace rules) is tried when they
// connect; where it refuses, that direction uses TCP.

const (
	cmaMin   = 64 << 10   // smaller messages go inline: a round trip costs more than their copy
	ackIndex = 0xfffffffe // handshake index of the acknowledgement connection
	cmaAck   = 'K'        // acknowledgement; also "I can read your memory" when connecting
	cmaNack  = 'N'        // "I cannot read your memory"
	// EnvCMA set to 0 turns cross-memory attach off (every byte over TCP).
	EnvCMA = "GOCANN_COMM_CMA"
)

// peerInfo is what a rank publishes in the rendezvous store.
type peerInfo struct {
	addr  string // host:port of its listener
	host  string // same host and namespaces as this rank when equal; "" unknown
	pid   int    // its process id; 0 when its host is unknown
	probe uint64 // address of a word holding pid, which peers try to read; 0 when CMA is off
	shm   bool   // it shares memory with ranks of its host (see shm.go)
}

func (p peerInfo) encode() string {
	return fmt.Sprintf("%s;%s;%d;%d;%t", p.addr, p.host, p.pid, p.probe, p.shm)
}

func decodePeerInfo(s string) (peerInfo, error) {
	f := strings.Split(s, ";")
	if len(f) != 5 {
		return peerInfo{}, fmt.Errorf("comm: malformed peer record %q", s)
	}
	pid, err1 := strconv.Atoi(f[2])
	probe, err2 := strconv.ParseUint(f[3], 10, 64)
	shm, err3 := strconv.ParseBool(f[4])
	if err1 != nil || err2 != nil || err3 != nil {
		return peerInfo{}, fmt.Errorf("comm: malformed peer record %q", s)
	}
	return peerInfo{addr: f[0], host: f[1], pid: pid, probe: probe, shm: shm}, nil
}

// localInfo describes this process: the host is the boot id plus the
// network and pid namespaces, so that ranks in separate network
// namespaces (containers, the namespace tests) count as separate hosts.
// probe is a word that must stay allocated while peers connect.
func localInfo(addr string, cma, shm bool, probe *uint64) peerInfo {
	info := peerInfo{addr: addr}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return info
	}
	netns, err1 := os.Readlink("/proc/self/ns/net")
	pidns, err2 := os.Readlink("/proc/self/ns/pid")
	if err1 != nil || err2 != nil {
		return info
	}
	info.host = strings.TrimSpace(string(boot)) + "/" + netns + "/" + pidns
	info.pid = os.Getpid()
	info.shm = shm
	if cma {
		*probe = uint64(info.pid)
		info.probe = uint64(uintptr(unsafe.Pointer(probe)))
		allowPeerReads()
	}
	return info
}

// cmaRead fills dst from len(dst) bytes at addr in process pid, or reduces
// them into dst through scratch.
func cmaRead(pid int, addr uint64, dst []byte, reduce func(dst, src []byte), scratch []byte) error {
	if reduce == nil {
		return vmRead(pid, addr, dst)
	}
	for off := 0; off < len(dst); {
		n := min(len(scratch), len(dst)-off)
		if err := vmRead(pid, addr+uint64(off), scratch[:n]); err != nil {
			return err
		}
		reduce(dst[off:off+n], scratch[:n])
		off += n
	}
	return nil
}

// addressOf is the address of b's first byte, sent to a peer that reads it.
func addressOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
