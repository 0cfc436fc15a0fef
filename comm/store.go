package comm

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Store is the rendezvous through which ranks find each other: a small
// key-value store where each rank publishes its address and reads the
// others'. The bootstrap owns this interface; the TCP store below and the
// PMI key-value space of MPICH's launcher implement it.
type Store interface {
	// Set publishes a value.
	Set(ctx context.Context, key string, value []byte) error
	// Get waits until key has been set, then returns its value.
	Get(ctx context.Context, key string) ([]byte, error)
}

// fencer is a store whose writes become visible only at a collective
// fence (PMI's barrier), which bootstrap calls between its Sets and Gets.
type fencer interface {
	Fence(ctx context.Context) error
}

// StoreServer is the TCP store, run by rank 0 at MASTER_ADDR:MASTER_PORT
// (like torch.distributed's TCPStore).
type StoreServer struct {
	ln      net.Listener
	mu      sync.Mutex
	data    map[string][]byte
	changed chan struct{} // closed and replaced on every Set
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Store protocol: a request is op (1 byte), key length (uint32), key,
// value length (uint32), value; the reply is status (1 byte: 0 ok), length
// (uint32) and value or error text. Get is answered once the key exists.
const (
	storeSet byte = 'S'
	storeGet byte = 'G'
	maxStore      = 1 << 20 // keys and values are addresses: anything larger is garbage
)

// ListenStore starts a store server on addr ("host:port").
func ListenStore(addr string) (*StoreServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("comm: store: %w", err)
	}
	s := &StoreServer{ln: ln, data: map[string][]byte{}, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.serve)
	return s, nil
}

// Addr is the address the server listens on.
func (s *StoreServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops its clients.
func (s *StoreServer) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	close(s.changed) // wake blocked Gets, which see closed
	s.changed = make(chan struct{})
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *StoreServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		})
	}
}

func (s *StoreServer) handle(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		op, err := r.ReadByte()
		if err != nil {
			return
		}
		key, err := readBlob(r)
		if err != nil {
			return
		}
		val, err := readBlob(r)
		if err != nil {
			return
		}
		switch op {
		case storeSet:
			s.mu.Lock()
			s.data[string(key)] = val
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			err = writeReply(c, 0, nil)
		case storeGet:
			var v []byte
			v, err = s.wait(string(key))
			if err == nil {
				err = writeReply(c, 0, v)
			}
		default:
			err = writeReply(c, 1, []byte(fmt.Sprintf("unknown store operation %q", op)))
		}
		if err != nil {
			return
		}
	}
}

// wait returns key's value once it is set, or an error once the server
// closes. A client that gives up closes its connection, which ends the
// handler with its next write.
func (s *StoreServer) wait(key string) ([]byte, error) {
	for {
		s.mu.Lock()
		v, ok := s.data[key]
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if ok {
			return v, nil
		}
		if closed {
			return nil, net.ErrClosed
		}
		<-ch
	}
}

func readBlob(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > maxStore {
		return nil, fmt.Errorf("store: %d-byte field", size)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeReply(w io.Writer, status byte, v []byte) error {
	b := make([]byte, 5, 5+len(v))
	b[0] = status
	binary.LittleEndian.PutUint32(b[1:], uint32(len(v)))
	_, err := w.Write(append(b, v...))
	return err
}

// TCPStore is a client of a StoreServer. Its calls are serialized.
type TCPStore struct {
	mu   sync.Mutex
	c    net.Conn
	r    *bufio.Reader
	addr string
}

// DialStore connects to the store at addr, retrying until ctx ends: the
// master may not be listening yet when the other ranks start.
func DialStore(ctx context.Context, addr string) (*TCPStore, error) {
	var d net.Dialer
	c, err := dialRetry(ctx, &d, addr)
	if err != nil {
		return nil, fmt.Errorf("comm: connecting to the rendezvous store at %s: %w", addr, err)
	}
	return &TCPStore{c: c, r: bufio.NewReader(c), addr: addr}, nil
}

// LocalAddr is this end's address: the interface through which the
// master, and so probably the other ranks, are reached.
func (s *TCPStore) LocalAddr() net.Addr { return s.c.LocalAddr() }

// Close drops the connection.
func (s *TCPStore) Close() error { return s.c.Close() }

func (s *TCPStore) Set(ctx context.Context, key string, value []byte) error {
	_, err := s.do(ctx, storeSet, key, value)
	return err
}

func (s *TCPStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.do(ctx, storeGet, key, nil)
}

func (s *TCPStore) do(ctx context.Context, op byte, key string, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.c.SetDeadline(time.Now()) })
	defer stop()
	req := make([]byte, 0, 9+len(key)+len(value))
	req = append(req, op)
	req = binary.LittleEndian.AppendUint32(req, uint32(len(key)))
	req = append(req, key...)
	req = binary.LittleEndian.AppendUint32(req, uint32(len(value)))
	req = append(req, value...)
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: %w", ErrTimeout, err)
			}
		}
		return fmt.Errorf("comm: store %s %q at %s: %w", map[byte]string{storeSet: "set", storeGet: "get"}[op], key, s.addr, err)
	}
	if _, err := s.c.Write(req); err != nil {
		return nil, fail(err)
	}
	status, err := s.r.ReadByte()
	if err != nil {
		return nil, fail(err)
	}
	v, err := readBlob(s.r)
	if err != nil {
		return nil, fail(err)
	}
	if status != 0 {
		return nil, fail(errors.New(string(v)))
	}
	return v, nil
}
