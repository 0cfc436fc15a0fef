package ops

import (
	"fmt"
	"sort"
	"sync"
)

type opKey struct{ domain, name string }

// Registry maps (domain, name, opset) to operator definitions. A program
// builds one (the standard set's constructor fills one) and adds its own
// custom operators; there is no global registry.
type Registry struct {
	mu     sync.RWMutex
	ops    map[opKey][]*Op // sorted by Since
	device map[deviceKey][]*DeviceOp
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{ops: map[opKey][]*Op{}} }

// NormalizeDomain maps the spellings of the default domain to "".
func NormalizeDomain(d string) string {
	if d == DomainONNX {
		return ""
	}
	return d
}

// Register adds operator versions. Registering the same (domain, name,
// since) twice is an error.
func (r *Registry) Register(ops ...*Op) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, op := range ops {
		if op == nil || op.Name == "" || op.Prepare == nil || op.Since < 1 {
			return fmt.Errorf("register operator %+v: needs a name, a since-version >= 1 and Prepare: %w", op, ErrInvalidNode)
		}
		k := opKey{NormalizeDomain(op.Domain), op.Name}
		list := r.ops[k]
		for _, old := range list {
			if old.Since == op.Since {
				return fmt.Errorf("register operator %s version %d: already registered: %w", op.Name, op.Since, ErrInvalidNode)
			}
		}
		list = append(list, op)
		sort.Slice(list, func(i, j int) bool { return list[i].Since < list[j].Since })
		r.ops[k] = list
	}
	return nil
}

// Lookup returns the version of the operator in force at the given opset
// version of its domain: the one with the highest Since <= opset.
func (r *Registry) Lookup(domain, name string, opset int) (*Op, error) {
	r.mu.RLock()
	list := r.ops[opKey{NormalizeDomain(domain), name}]
	r.mu.RUnlock()
	if len(list) == 0 {
		return nil, fmt.Errorf("%w %s", ErrUnknownOp, qualified(domain, name))
	}
	var found *Op
	for _, op := range list {
		if op.Since <= opset {
			found = op
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w %s at opset %d (first defined in opset %d)", ErrUnknownOp, qualified(domain, name), opset, list[0].Since)
	}
	return found, nil
}

// Ops returns every registered operator version, sorted by domain, name and version.
func (r *Registry) Ops() []*Op {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var all []*Op
	for _, list := range r.ops {
		all = append(all, list...)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if da, db := NormalizeDomain(a.Domain), NormalizeDomain(b.Domain); da != db {
			return da < db
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Since < b.Since
	})
	return all
}

func qualified(domain, name string) string {
	if d := NormalizeDomain(domain); d != "" {
		return d + "." + name
	}
	return name
}
