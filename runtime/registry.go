package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Registry holds the backends a program uses. There is no global registry:
// a program builds one and passes it (or the devices it opens) down, so that
// tests and libraries never fight over process-wide state.
type Registry struct {
	mu       sync.Mutex
	backends []Backend
}

// NewRegistry returns a registry holding the given backends, in order.
func NewRegistry(backends ...Backend) (*Registry, error) {
	r := &Registry{}
	for _, b := range backends {
		if err := r.Register(b); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds a backend. Its name must be unique in the registry and must
// not contain ':'.
func (r *Registry) Register(b Backend) error {
	if b == nil {
		return fmt.Errorf("register: nil backend: %w", ErrInvalidArgument)
	}
	name := b.Name()
	if name == "" || strings.ContainsAny(name, ": \t") {
		return fmt.Errorf("register backend %q: bad name: %w", name, ErrInvalidArgument)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.backends {
		if old.Name() == name {
			return fmt.Errorf("register backend %q: already registered: %w", name, ErrInvalidArgument)
		}
	}
	r.backends = append(r.backends, b)
	return nil
}

// Backends returns the registered backends in registration order.
func (r *Registry) Backends() []Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Backend(nil), r.backends...)
}

// Backend returns the backend registered under name.
func (r *Registry) Backend(name string) (Backend, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.backends {
		if b.Name() == name {
			return b, nil
		}
	}
	return nil, fmt.Errorf("backend %q: %w", name, ErrNotFound)
}

// Open returns the device named by id: "backend" (its first device) or
// "backend:index", e.g. "cpu", "opencl:1".
func (r *Registry) Open(id string) (Device, error) {
	name, idx, err := ParseDeviceID(id)
	if err != nil {
		return nil, err
	}
	b, err := r.Backend(name)
	if err != nil {
		return nil, fmt.Errorf("open device %q: %w", id, err)
	}
	devs, err := b.Devices()
	if err != nil {
		return nil, fmt.Errorf("open device %q: %w", id, err)
	}
	if idx >= len(devs) {
		return nil, fmt.Errorf("open device %q: backend %q has %d device(s): %w", id, name, len(devs), ErrNotFound)
	}
	return devs[idx], nil
}

// Devices lists every device of every backend. A backend that fails to list
// its devices (its library is missing, say) does not hide the others: its
// error is returned joined with the others', alongside the devices found.
func (r *Registry) Devices() ([]Device, error) {
	var all []Device
	var errs []error
	for _, b := range r.Backends() {
		devs, err := b.Devices()
		if err != nil {
			errs = append(errs, fmt.Errorf("backend %q: %w", b.Name(), err))
			continue
		}
		all = append(all, devs...)
	}
	return all, errors.Join(errs...)
}

// Close closes every backend, returning their errors joined.
func (r *Registry) Close() error {
	var errs []error
	for _, b := range r.Backends() {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close backend %q: %w", b.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// ParseDeviceID splits "name" or "name:index" into its parts.
func ParseDeviceID(id string) (backend string, index int, err error) {
	name, num, found := strings.Cut(id, ":")
	if name == "" {
		return "", 0, fmt.Errorf("device id %q: empty backend name: %w", id, ErrInvalidArgument)
	}
	if !found {
		return name, 0, nil
	}
	index, perr := strconv.Atoi(num)
	if perr != nil || index < 0 {
		return "", 0, fmt.Errorf("device id %q: index must be a non-negative integer: %w", id, ErrInvalidArgument)
	}
	return name, index, nil
}
