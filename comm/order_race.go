//go:build race

package comm

import "sync"

// raceOrder tells the race detector what the peers guarantee. A ring
// writes a buffer region with a Recv only after the region's earlier Send
// has been consumed by the next rank: the data arriving for it is caused by
// that consumption. That order runs through other processes, where the race
// detector cannot see it, so it would report every such reuse. Send
// releases and Recv acquires (once the header of the data has arrived, so
// causally after the Send completed) to show it the edge. Without -race
// this is free: see order_norace.go.
type raceOrder struct{ mu sync.Mutex }

func (o *raceOrder) release() { o.mu.Lock(); o.mu.Unlock() }
func (o *raceOrder) acquire() { o.mu.Lock(); o.mu.Unlock() }
