package opencl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gocann/gocann/runtime"
)

// Options configure the OpenCL backend.
type Options struct {
	// Library is the path or file name of the OpenCL library (the ICD
	// loader). Empty means $GOCANN_OPENCL_LIBRARY, then libOpenCL.so.1,
	// then libOpenCL.so.
	Library string
	// CacheDir is where compiled program binaries are kept between runs.
	// Empty means $GOCANN_CACHE_DIR/opencl, or, without that variable,
	// os.UserCacheDir()/gocann/opencl. "off" disables the disk cache.
	CacheDir string
}

// Backend is the OpenCL backend: every device of every OpenCL platform,
// numbered opencl:0, opencl:1… in platform order.
type Backend struct {
	library  string // from Options, resolved on first use
	cacheDir string // "" when the disk cache is off

	// The library is opened and the devices listed on first use, so that a
	// program that only uses the CPU never pays the OpenCL driver's start-up.
	loadOnce sync.Once
	lib      *lib
	devices  []*Device
	reason   error // why there are no devices; nil when there are

	// ctx is cancelled by Close, to release stream goroutines blocked on
	// events that will never complete.
	ctx    context.Context
	cancel context.CancelFunc

	closed  atomic.Bool
	mu      sync.Mutex
	streams map[*Stream]struct{}
	// life is held for reading by calls that use a device's context, and
	// for writing by Close while it releases the contexts.
	life sync.RWMutex
}

// New returns the OpenCL backend. The library is opened, and the devices of
// every platform listed, when the devices are first asked for.
//
// A machine without an OpenCL library, or whose library finds no platform
// or device, is not an error: the backend has no devices, and [Backend.Err]
// says why (an error wrapping runtime.ErrNotFound). A library too old to
// use (no OpenCL 1.2 entry points) is reported the same way, wrapping
// ErrUnsupported. An error from New itself means the options are invalid.
func New(opts Options) (*Backend, error) {
	cacheDir, err := resolveCacheDir(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	b := &Backend{library: opts.Library, cacheDir: cacheDir, streams: map[*Stream]struct{}{}}
	if b.library == "" {
		b.library = libraryFromEnv()
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// load opens the library and lists the devices, once.
func (b *Backend) load() {
	b.loadOnce.Do(func() {
		l, err := openLib(b.library)
		if err != nil {
			b.reason = err
			return
		}
		b.lib = l
		if err := b.discover(); err != nil {
			b.reason = err
			b.devices = nil
		}
	})
}

// resolveCacheDir applies the defaults of Options.CacheDir.
func resolveCacheDir(dir string) (string, error) {
	switch {
	case dir == "off":
		return "", nil
	case dir != "":
		return filepath.Clean(dir), nil
	}
	if root := os.Getenv("GOCANN_CACHE_DIR"); root != "" {
		if root == "off" {
			return "", nil
		}
		return filepath.Join(root, "opencl"), nil
	}
	root, err := os.UserCacheDir()
	if err != nil {
		// No home and no XDG_CACHE_HOME (a bare container): run without a
		// disk cache rather than fail.
		return "", nil
	}
	return filepath.Join(root, "gocann", "opencl"), nil
}

// discover enumerates platforms and devices and reads their properties.
// Contexts are made lazily, when a device is first used.
func (b *Backend) discover() error {
	plats, err := b.lib.platformIDs()
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Code == errPlatformNotFound {
			return fmt.Errorf("opencl: %s: no OpenCL platform installed (no ICD found): %w", b.lib.path, runtime.ErrNotFound)
		}
		return fmt.Errorf("opencl: list platforms: %w", err)
	}
	if len(plats) == 0 {
		return fmt.Errorf("opencl: %s: no OpenCL platform installed: %w", b.lib.path, runtime.ErrNotFound)
	}
	var errs []error
	for _, p := range plats {
		pinfo := readPlatform(b.lib, p)
		ids, err := b.lib.deviceIDs(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("platform %q: %w", pinfo.name, err))
			continue
		}
		for _, id := range ids {
			d, err := newDevice(b, len(b.devices), p, pinfo, id)
			if err != nil {
				errs = append(errs, fmt.Errorf("platform %q: %w", pinfo.name, err))
				continue
			}
			b.devices = append(b.devices, d)
		}
	}
	if len(b.devices) == 0 {
		errs = append(errs, runtime.ErrNotFound)
		return fmt.Errorf("opencl: %d platform(s), no usable device: %w", len(plats), errors.Join(errs...))
	}
	return nil
}

// Name is "opencl".
func (b *Backend) Name() string { return "opencl" }

// Devices returns the OpenCL devices, in index order; none (and no error)
// when OpenCL is missing, as [Backend.Err] reports.
func (b *Backend) Devices() ([]runtime.Device, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("opencl: devices: %w", runtime.ErrClosed)
	}
	b.load()
	out := make([]runtime.Device, len(b.devices))
	for i, d := range b.devices {
		out[i] = d
	}
	return out, nil
}

// Device returns device i as its concrete type.
func (b *Backend) Device(i int) (*Device, error) {
	if b.closed.Load() {
		return nil, fmt.Errorf("opencl: device %d: %w", i, runtime.ErrClosed)
	}
	b.load()
	if i < 0 || i >= len(b.devices) {
		reason := ""
		if b.reason != nil {
			reason = " (" + b.reason.Error() + ")"
		}
		return nil, fmt.Errorf("opencl: device %d of %d%s: %w", i, len(b.devices), reason, runtime.ErrNotFound)
	}
	return b.devices[i], nil
}

// Err says why the backend has no devices: the library is missing (an
// error wrapping runtime.ErrNotFound), too old (ErrUnsupported), or has no
// platform or device (ErrNotFound). It is nil when there are devices.
func (b *Backend) Err() error {
	b.load()
	return b.reason
}

// CacheDir is the directory of the program binary cache, "" when off.
func (b *Backend) CacheDir() string { return b.cacheDir }

// Close drains and closes every stream, then releases the devices'
// programs and contexts. Buffers may still be freed afterwards. A second
// Close returns ErrClosed.
func (b *Backend) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("opencl: close backend: %w", runtime.ErrClosed)
	}
	b.cancel()
	// A backend never used loads nothing now; one being loaded is waited for.
	b.loadOnce.Do(func() {})
	b.mu.Lock()
	streams := make([]*Stream, 0, len(b.streams))
	for s := range b.streams {
		streams = append(streams, s)
	}
	b.mu.Unlock()
	for _, s := range streams {
		_ = s.Close() // unreported stream errors are the owner's to have read
	}
	b.life.Lock()
	defer b.life.Unlock()
	var errs []error
	for _, d := range b.devices {
		if err := d.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Backend) forget(s *Stream) {
	b.mu.Lock()
	delete(b.streams, s)
	b.mu.Unlock()
}

// platformInfo is what the device's properties and the cache key need of
// its platform.
type platformInfo struct {
	name, vendor, version string
}

func readPlatform(l *lib, p clPlatform) platformInfo {
	get := func(param uint32) string {
		s, _ := infoString("clGetPlatformInfo", l.clGetPlatformInfo, uintptr(p), param)
		return strings.TrimSpace(s)
	}
	return platformInfo{name: get(clPlatformName), vendor: get(clPlatformVendor), version: get(clPlatformVersion)}
}
