package opencl

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gocann/gocann/runtime"
)

// BuildStats count how a device's programs were obtained. A program asked
// for again in the same process is a Memo hit; otherwise it is Loaded from
// the disk cache, or Compiled from source (after a Rejected entry, if the
// cached binary was corrupt, for another device or driver, or refused by
// the driver).
type BuildStats struct {
	Compiled int64 // programs compiled from source
	Loaded   int64 // programs loaded from a cached binary
	Rejected int64 // cache entries found unusable and replaced
	Memo     int64 // requests served by a program already built in this process
}

// programCache holds a device's built programs, by source and options.
type programCache struct {
	mu       sync.Mutex
	m        map[[32]byte]*progEntry
	compiled atomic.Int64
	loaded   atomic.Int64
	rejected atomic.Int64
	memo     atomic.Int64
}

type progEntry struct {
	ready chan struct{} // closed when p or err is set
	p     *Program
	err   error
}

func (c *programCache) init() { c.m = map[[32]byte]*progEntry{} }

func (c *programCache) release(l *lib) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		select {
		case <-e.ready:
			if e.p != nil {
				e.p.release(l)
			}
		default: // a build in progress keeps its program
		}
		delete(c.m, k)
	}
}

// BuildStats reports how the device's programs were built so far.
func (d *Device) BuildStats() BuildStats {
	c := &d.progs
	return BuildStats{Compiled: c.compiled.Load(), Loaded: c.loaded.Load(), Rejected: c.rejected.Load(), Memo: c.memo.Load()}
}

// Program is an OpenCL program built for one device. Its kernels are
// looked up by name.
type Program struct {
	dev     *Device
	h       clProgram
	options string
	cached  bool // loaded from the disk cache

	mu      sync.Mutex
	kernels map[string]*Kernel
}

// BuildOptionsArgInfo is added to every build so that kernels can describe
// their arguments and launches are checked before they are enqueued.
const buildOptionsArgInfo = "-cl-kernel-arg-info"

// BuildProgram compiles OpenCL C source for the device with the given
// build options (as for clBuildProgram). The result is memoized for the
// life of the backend, and its binary kept in the disk cache, so that a
// program is compiled once per device and driver, not once per run.
// A compile error is ErrInvalidArgument, with the build log.
func (d *Device) BuildProgram(source, options string) (*Program, error) {
	leave, err := d.enter("build program")
	if err != nil {
		return nil, err
	}
	defer leave()
	options = strings.TrimSpace(options + " " + buildOptionsArgInfo)
	key := sha256.Sum256([]byte(source + "\x00" + options))
	c := &d.progs
	c.mu.Lock()
	if c.m == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("opencl: build program: %w", runtime.ErrClosed)
	}
	if e, ok := c.m[key]; ok {
		c.mu.Unlock()
		<-e.ready
		if e.err == nil {
			c.memo.Add(1)
		}
		return e.p, e.err
	}
	e := &progEntry{ready: make(chan struct{})}
	c.m[key] = e
	c.mu.Unlock()
	e.p, e.err = d.build(source, options)
	close(e.ready)
	return e.p, e.err
}

// build loads the program from the disk cache or compiles it, and stores
// what it compiled.
func (d *Device) build(source, options string) (*Program, error) {
	l := d.lib
	cache := d.backend.diskCache(d, source, options)
	if bin, status := cache.load(); status == cacheHit {
		if h, err := l.createProgramWithBinary(d.ctx, d.id, bin); err == nil {
			if code := l.build(h, d.id, options); code == clSuccess {
				d.progs.loaded.Add(1)
				return &Program{dev: d, h: h, options: options, cached: true, kernels: map[string]*Kernel{}}, nil
			}
			call(l.clReleaseProgram, uintptr(h))
		}
		// The driver refused a well-formed entry (an update that kept its
		// version string, say): rebuild and replace it.
		d.progs.rejected.Add(1)
	} else if status == cacheRejected {
		d.progs.rejected.Add(1)
	}
	h, err := l.createProgramWithSource(d.ctx, source)
	if err != nil {
		return nil, fmt.Errorf("opencl: %s: build program: %w", d.props.ID(), err)
	}
	if code := l.build(h, d.id, options); code != clSuccess {
		log := strings.TrimSpace(l.buildLog(h, d.id))
		call(l.clReleaseProgram, uintptr(h))
		return nil, &BuildError{Device: d.props.ID(), Options: options, Log: log, Err: clError("clBuildProgram", code)}
	}
	d.progs.compiled.Add(1)
	if cache.enabled() {
		if bin, err := l.binary(h); err == nil && len(bin) > 0 {
			_ = cache.store(bin) // the cache is an optimization: a read-only disk is fine
		}
	}
	return &Program{dev: d, h: h, options: options, kernels: map[string]*Kernel{}}, nil
}

// BuildError is a program that failed to compile, with the compiler's log.
type BuildError struct {
	Device  string
	Options string
	Log     string
	Err     error // the *Error of clBuildProgram
}

func (e *BuildError) Error() string {
	log := e.Log
	if len(log) > 4000 {
		log = log[:4000] + "…"
	}
	return fmt.Sprintf("opencl: %s: build program (options %q): %v\n%s", e.Device, e.Options, e.Err, log)
}

// Unwrap returns the OpenCL error (so errors.Is finds ErrInvalidArgument).
func (e *BuildError) Unwrap() error { return e.Err }

// FromCache reports whether the program was loaded from the disk cache.
func (p *Program) FromCache() bool { return p.cached }

// Device returns the device the program was built for.
func (p *Program) Device() *Device { return p.dev }

func (p *Program) release(l *lib) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.kernels {
		k.mu.Lock()
		call(l.clReleaseKernel, uintptr(k.h))
		k.h = 0
		k.mu.Unlock()
	}
	p.kernels = nil
	call(l.clReleaseProgram, uintptr(p.h))
	p.h = 0
}

// Kernel returns the kernel function of the program by that name. A name
// the program lacks is ErrNotFound.
func (p *Program) Kernel(name string) (*Kernel, error) {
	if p == nil {
		return nil, fmt.Errorf("opencl: kernel %q: nil program: %w", name, runtime.ErrInvalidArgument)
	}
	leave, err := p.dev.enter(fmt.Sprintf("kernel %q", name))
	if err != nil {
		return nil, err
	}
	defer leave()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kernels == nil {
		return nil, fmt.Errorf("opencl: kernel %q: program released: %w", name, runtime.ErrClosed)
	}
	if k, ok := p.kernels[name]; ok {
		return k, nil
	}
	l := p.dev.lib
	h, err := l.createKernel(p.h, name)
	if err != nil {
		if ce, ok := err.(*Error); ok && ce.Code == -46 { // CL_INVALID_KERNEL_NAME
			return nil, fmt.Errorf("opencl: kernel %q: not in the program: %w (%w)", name, runtime.ErrNotFound, err)
		}
		return nil, fmt.Errorf("opencl: kernel %q: %w", name, err)
	}
	k := &Kernel{prog: p, name: name, h: h}
	if err := k.describe(); err != nil {
		call(l.clReleaseKernel, uintptr(h))
		return nil, fmt.Errorf("opencl: kernel %q: %w", name, err)
	}
	p.kernels[name] = k
	return k, nil
}
