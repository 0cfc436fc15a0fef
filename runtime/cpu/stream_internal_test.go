package cpu

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A Synchronize returns only errors raised by work enqueued before it was
// called; a later failure is kept for the next Synchronize.
func TestSynchronizeErrorScope(t *testing.T) {
	b, err := New(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rs, _ := b.Device().NewStream()
	s := rs.(*Stream)
	release := make(chan struct{})
	_ = s.HostFunc(func() error { <-release; return nil })

	got := make(chan error, 1)
	go func() { got <- s.Synchronize(context.Background()) }()
	// Wait until that Synchronize has registered (its target is fixed).
	for {
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	errLate := errors.New("late")
	_ = s.HostFunc(func() error { return errLate })
	close(release)
	if err := <-got; err != nil {
		t.Errorf("first Synchronize = %v, want nil (the error came from later work)", err)
	}
	if err := s.Synchronize(context.Background()); !errors.Is(err, errLate) {
		t.Errorf("second Synchronize = %v, want the late error", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// An abandoned Synchronize leaves no waiter behind, and the queue's slice
// is reused rather than grown while the stream keeps up.
func TestStreamBookkeeping(t *testing.T) {
	b, err := New(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rs, _ := b.Device().NewStream()
	s := rs.(*Stream)
	release := make(chan struct{})
	_ = s.HostFunc(func() error { <-release; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if err := s.Synchronize(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Synchronize = %v", err)
	}
	s.mu.Lock()
	if len(s.waiters) != 0 {
		t.Errorf("%d waiters left after an abandoned Synchronize", len(s.waiters))
	}
	s.mu.Unlock()
	// A backlog that never empties still compacts.
	for range 2000 {
		_ = s.HostFunc(func() error { return nil })
	}
	close(release)
	for range 10000 {
		_ = s.HostFunc(func() error { return nil })
	}
	if err := s.Synchronize(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	if s.head != 0 || len(s.queue) != 0 || cap(s.queue) > 1<<15 {
		t.Errorf("queue head %d len %d cap %d after draining", s.head, len(s.queue), cap(s.queue))
	}
	s.mu.Unlock()
}
