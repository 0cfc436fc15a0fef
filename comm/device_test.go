package comm

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gocann/gocann/runtime"
	"github.com/gocann/gocann/runtime/cpu"
	"github.com/gocann/gocann/tensor"
)

// opaqueDevice is a device whose memory the host cannot address: its
// buffers are not HostAccessible, so collectives must stage through its
// streams' copies, which run later on a goroutine of their own.
type opaqueDevice struct {
	index  int
	copies sync.Map // counts by kind, to check that staging happened
}

func (d *opaqueDevice) Properties() runtime.Properties {
	return runtime.Properties{Backend: "opaque", Index: d.index, Kind: runtime.KindAccelerator}
}

func (d *opaqueDevice) Alloc(n int64) (runtime.Buffer, error) {
	if n < 0 {
		return nil, runtime.ErrInvalidArgument
	}
	return &opaqueBuffer{dev: d, mem: make([]byte, n)}, nil
}

func (d *opaqueDevice) NewStream() (runtime.Stream, error) {
	s := &opaqueStream{dev: d, work: make(chan func() error, 64), idle: make(chan struct{}, 1)}
	go s.run()
	return s, nil
}

func (d *opaqueDevice) NewEvent() (runtime.Event, error) { return nil, runtime.ErrUnsupported }

func (d *opaqueDevice) count(kind string) {
	v, _ := d.copies.LoadOrStore(kind, new(int64))
	*(v.(*int64))++ // only the stream goroutines count, one at a time per test
}

type opaqueBuffer struct {
	dev *opaqueDevice
	mem []byte
}

func (b *opaqueBuffer) Device() runtime.Device { return b.dev }
func (b *opaqueBuffer) Size() int64            { return int64(len(b.mem)) }
func (b *opaqueBuffer) Free() error            { return nil }

type opaqueStream struct {
	dev  *opaqueDevice
	mu   sync.Mutex
	work chan func() error
	err  error
	wg   sync.WaitGroup
	idle chan struct{}
}

func (s *opaqueStream) run() {
	for f := range s.work {
		if err := f(); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
		s.wg.Done()
	}
}

func (s *opaqueStream) enqueue(f func() error) error {
	s.wg.Add(1)
	s.work <- f
	return nil
}

func (s *opaqueStream) Device() runtime.Device { return s.dev }

func (s *opaqueStream) CopyToDevice(dst runtime.Buffer, off int64, src []byte) error {
	b := dst.(*opaqueBuffer)
	return s.enqueue(func() error { s.dev.count("h2d"); copy(b.mem[off:], src); return nil })
}

func (s *opaqueStream) CopyToHost(dst []byte, src runtime.Buffer, off int64) error {
	b := src.(*opaqueBuffer)
	return s.enqueue(func() error { s.dev.count("d2h"); copy(dst, b.mem[off:]); return nil })
}

func (s *opaqueStream) Copy(dst runtime.Buffer, doff int64, src runtime.Buffer, soff int64, n int64) error {
	d, sb := dst.(*opaqueBuffer), src.(*opaqueBuffer)
	return s.enqueue(func() error { copy(d.mem[doff:doff+n], sb.mem[soff:soff+n]); return nil })
}

func (s *opaqueStream) Launch(runtime.Kernel) error    { return runtime.ErrUnsupported }
func (s *opaqueStream) HostFunc(fn func() error) error { return s.enqueue(fn) }
func (s *opaqueStream) Record(runtime.Event) error     { return runtime.ErrUnsupported }
func (s *opaqueStream) Wait(runtime.Event) error       { return runtime.ErrUnsupported }
func (s *opaqueStream) Close() error                   { s.wg.Wait(); return nil }
func (s *opaqueStream) Synchronize(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	s.err = nil
	return err
}

// TestDeviceTensors runs collectives on tensors the host cannot read (one
// opaque device per rank) and on the CPU backend's (read in place), with
// the blocking calls and with calls enqueued on a stream.
func TestDeviceTensors(t *testing.T) {
	be, err := cpu.New(cpu.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	const p = 3
	devices := map[string]func(r int) runtime.Device{
		"opaque": func(r int) runtime.Device { return &opaqueDevice{index: r} },
		"cpu":    func(int) runtime.Device { return be.Device() },
	}
	for name, devOf := range devices {
		for _, async := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/async=%v", name, async), func(t *testing.T) {
				comms := localWorld(t, p, Options{Timeout: 10 * time.Second, Device: devOf(0)})
				if got := comms[1].Devices(); len(got) != p || got[0] == "" {
					t.Errorf("Devices() = %v", got)
				}
				errs := onEach(comms, func(c *Communicator) error {
					dev := devOf(c.Rank())
					s, err := dev.NewStream()
					if err != nil {
						return err
					}
					defer s.Close()
					toDev := func(x *tensor.Tensor) (*tensor.Tensor, error) { return x.CopyTo(t.Context(), s, dev) }
					for _, k := range cases(p, []tensor.DType{tensor.Float32, tensor.BFloat16}, []int{0, 5, 1031}) {
						if k.coll == CollSendRecv || k.coll == CollBarrier {
							continue
						}
						var err error
						if async {
							err = runCase(t.Context(), &asyncComm{c, s}, k, toDev)
						} else {
							err = runCase(t.Context(), c, k, toDev)
						}
						if err != nil {
							return err
						}
					}
					return nil
				})
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}
