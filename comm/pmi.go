package comm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// PMIStore speaks PMI-1, the wire protocol of MPICH's Hydra launcher
// (mpirun, mpiexec), over the socket Hydra hands each process in PMI_FD.
// Hydra sets PMI_RANK, PMI_SIZE and PMI_FD but no address to meet at: its
// key-value space is the rendezvous. Puts become visible to the other
// ranks at the next barrier (Fence).
type PMIStore struct {
	mu  sync.Mutex
	c   net.Conn
	r   *bufio.Reader
	kvs string
}

// OpenPMI starts a PMI-1 session on the inherited descriptor fd.
func OpenPMI(ctx context.Context, fd int) (*PMIStore, error) {
	f := os.NewFile(uintptr(fd), "PMI_FD")
	if f == nil {
		return nil, fmt.Errorf("comm: PMI_FD=%d is not a descriptor", fd)
	}
	c, err := net.FileConn(f) // a duplicate that supports deadlines
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("comm: PMI_FD=%d: %w", fd, err)
	}
	s := &PMIStore{c: c, r: bufio.NewReader(c)}
	if _, err := s.cmd(ctx, "cmd=init pmi_version=1 pmi_subversion=1", "response_to_init"); err != nil {
		c.Close()
		return nil, err
	}
	kv, err := s.cmd(ctx, "cmd=get_my_kvsname", "my_kvsname")
	if err != nil {
		c.Close()
		return nil, err
	}
	s.kvs = kv["kvsname"]
	return s, nil
}

// cmd sends one command line and reads the reply, which must be of the
// expected kind with rc=0 (when it has an rc).
func (s *PMIStore) cmd(ctx context.Context, line, reply string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := fmt.Fprintf(s.c, "%s\n", line); err != nil {
		return nil, s.fail(ctx, line, err)
	}
	resp, err := s.r.ReadString('\n')
	if err != nil {
		return nil, s.fail(ctx, line, err)
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(resp) {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	if kv["cmd"] != reply {
		return nil, fmt.Errorf("comm: PMI %q: unexpected reply %q", line, strings.TrimSpace(resp))
	}
	if rc, ok := kv["rc"]; ok && rc != "0" {
		return kv, fmt.Errorf("comm: PMI %q: %s", line, strings.TrimSpace(resp))
	}
	return kv, nil
}

func (s *PMIStore) fail(ctx context.Context, line string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ErrTimeout, context.Cause(ctx))
	}
	return fmt.Errorf("comm: PMI %q: %w", strings.Fields(line)[0], err)
}

// PMI values may not hold spaces or '='; addresses do not.
func pmiSafe(s string) error {
	if strings.ContainsAny(s, " =\n") || s == "" {
		return fmt.Errorf("comm: PMI cannot store %q", s)
	}
	return nil
}

func (s *PMIStore) Set(ctx context.Context, key string, value []byte) error {
	if err := pmiSafe(key); err != nil {
		return err
	}
	if err := pmiSafe(string(value)); err != nil {
		return err
	}
	_, err := s.cmd(ctx, fmt.Sprintf("cmd=put kvsname=%s key=%s value=%s", s.kvs, key, value), "put_result")
	return err
}

// Get polls: PMI-1 has no blocking get, and a key put by another rank is
// there only after the barrier both have passed.
func (s *PMIStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := pmiSafe(key); err != nil {
		return nil, err
	}
	wait := time.Millisecond
	for {
		kv, err := s.cmd(ctx, fmt.Sprintf("cmd=get kvsname=%s key=%s", s.kvs, key), "get_result")
		if err == nil {
			return []byte(kv["value"]), nil
		}
		if kv == nil { // no reply at all: the connection failed
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("comm: PMI get %q: %w: %w", key, ErrTimeout, context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// Fence is PMI's barrier: every rank's puts are visible after it.
func (s *PMIStore) Fence(ctx context.Context) error {
	_, err := s.cmd(ctx, "cmd=barrier_in", "barrier_out")
	return err
}

// Close ends the PMI session (finalize), which Hydra expects before exit.
func (s *PMIStore) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.cmd(ctx, "cmd=finalize", "finalize_ack")
	return errors.Join(err, s.c.Close())
}
