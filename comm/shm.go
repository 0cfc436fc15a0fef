package comm

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	goruntime "runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// The shared-memory path (what MPICH's nemesis and NCCL's SHM transport
// do): every rank owns a memory segment that its peers on the same host
// map too. It holds a bell (a futex word) and, for each local peer, a ring
// of slots carrying that peer's messages to the owner. A sender copies a
// message into free slots of the receiver's ring and publishes them by
// advancing a counter; the receiver polls that counter, takes the message
// out (reducing straight from the slots) and advances its own counter,
// which frees the slots. The rings are small enough to stay in cache, so
// a message costs two copies at cache speed, and no system call or
// thread wake-up lies on the path while the ranks run. A rank that has
// waited long enough sleeps on its bell, and peers ring it only then.
//
// The TCP connections stay: the control connection still tells a rank at
// once that a peer died or aborted, and answers the hang diagnosis; only
// the messages move to shared memory.

const (
	shmSlots = 256     // slots per ring
	shmSlot  = 4 << 10 // bytes per slot: 1 MiB per ring
	shmMeta  = 64      // a message's header, in the meta line of its first slot
	shmBatch = 16      // slots moved before looking at the other direction
	// A ring: the head and tail lines, then the meta lines, then the slots.
	shmRingLen = 2*64 + shmSlots*shmMeta + shmSlots*shmSlot
	shmCtlLen  = 4096 // the owner's bell and sleeper count, first in the segment

	// shmSleep bounds one futex sleep, so that a cancelled context or a
	// failure nobody rang for is noticed.
	shmSleep = 5 * time.Millisecond
	// shmSpinMin is the least a wait polls (see shmAwait).
	shmSpinMin = 2 * time.Microsecond

	// EnvSHM set to 0 turns the shared-memory path off (TCP between all ranks).
	EnvSHM = "GOCANN_COMM_SHM"
)

// shmBell is a rank's futex word, and a flag set while some goroutine of
// the rank sleeps on it (or is about to).
type shmBell struct {
	word, asleep *atomic.Uint32
}

func bellAt(seg []byte) shmBell {
	return shmBell{word: (*atomic.Uint32)(unsafe.Pointer(&seg[0])), asleep: (*atomic.Uint32)(unsafe.Pointer(&seg[64]))}
}

// ring wakes the bell's owner if it sleeps. The caller has published a
// counter (an atomic store) first; a sleeper sets the flag before
// checking the counters again, so one of the two sees the other's store.
// The first ring clears the flag and wakes every sleeper: the next ones
// cost no system call.
func (b shmBell) ring() {
	if b.asleep.Load() != 0 && b.asleep.Swap(0) != 0 {
		b.word.Add(1)
		futexWake(b.word)
	}
}

// shmRing is one ring, as one of its two ends sees it.
type shmRing struct {
	head, tail *atomic.Uint64 // slots published by the sender, freed by the receiver
	other      shmBell        // the bell of the rank at the other end
	meta       []byte
	slots      []byte
	// pos is this end's own counter (head at the sender, tail at the
	// receiver), kept here to spare a load.
	pos uint64
}

func (r *shmRing) view(b []byte, other shmBell) {
	r.head = (*atomic.Uint64)(unsafe.Pointer(&b[0]))
	r.tail = (*atomic.Uint64)(unsafe.Pointer(&b[64]))
	r.meta = b[128 : 128+shmSlots*shmMeta]
	r.slots = b[128+shmSlots*shmMeta : shmRingLen]
	r.other = other
}

func (r *shmRing) metaAt(i uint64) []byte {
	o := int(i%shmSlots) * shmMeta
	return r.meta[o : o+shmMeta]
}

func (r *shmRing) slotAt(i uint64) []byte {
	o := int(i%shmSlots) * shmSlot
	return r.slots[o : o+shmSlot]
}

// free is how many slots the sender may fill.
func (r *shmRing) free() int { return shmSlots - int(r.pos-r.tail.Load()) }

// ready is how many slots the receiver may take.
func (r *shmRing) ready() int { return int(r.head.Load() - r.pos) }

// shmLink is the pair of rings between this rank and one peer: tx in the
// peer's segment, rx in this rank's.
type shmLink struct {
	tx, rx shmRing
}

// shmState is what a transport holds of shared memory.
type shmState struct {
	own   []byte   // this rank's segment
	segs  [][]byte // every mapped segment, own included, for unmapping
	bell  shmBell  // this rank's
	local []int    // the ranks of this host that share memory, ascending
}

// slotsFor is how many slots a message of n bytes takes.
func slotsFor(n int) int { return max(1, ceilDiv(n, shmSlot)) }

// Setting up. Each rank creates its segment (a memfd, which vanishes with
// the last mapping: nothing to clean up after a crash) and offers it on
// the acknowledgement connection to every peer of its host; each maps the
// peer's through /proc and says whether it could. A pair uses shared
// memory only when both could. Every message is written before any is
// read, so no rank waits on a peer that waits on a third.

const (
	shmOffer = 'S' // followed by the memfd's descriptor number, uint32
	shmNone  = 'n' // no segment from this rank
)

// setupShm gives a shared-memory link to every peer on this host that can
// share memory with this rank.
func (t *tcpTransport) setupShm(ctx context.Context, infos []peerInfo) error {
	self := infos[t.rank]
	var local []int
	for q, in := range infos {
		if self.shm && in.shm && self.host != "" && in.host == self.host && in.pid != 0 {
			local = append(local, q)
		}
	}
	if len(local) < 2 {
		return nil
	}
	index := func(q int) int {
		for i, r := range local {
			if r == q {
				return i
			}
		}
		return -1
	}
	stop := context.AfterFunc(ctx, func() {
		for _, q := range local {
			if p := t.peers[q]; p != nil {
				p.ack.SetDeadline(time.Now())
			}
		}
	})
	defer stop()
	fail := func(q int, err error) error {
		return fmt.Errorf("comm: rank %d: setting up shared memory with rank %d: %w", t.rank, q, err)
	}
	segLen := shmCtlLen + len(local)*shmRingLen
	fd, own, err := createShm(segLen)
	offer := []byte{shmNone, 0, 0, 0, 0}
	if err == nil {
		defer closeShm(fd) // once every peer has answered: they have opened it
		t.shm.own = own
		t.shm.segs = append(t.shm.segs, own)
		t.shm.bell = bellAt(own)
		t.shm.local = local
		offer[0] = shmOffer
		binary.LittleEndian.PutUint32(offer[1:], uint32(fd))
	}
	for _, q := range local {
		if q != t.rank {
			if _, err := t.peers[q].ack.Write(offer); err != nil {
				return fail(q, err)
			}
		}
	}
	theirs := map[int][]byte{}
	for _, q := range local {
		if q == t.rank {
			continue
		}
		p := t.peers[q]
		var msg [5]byte
		if _, err := io.ReadFull(p.ack, msg[:]); err != nil {
			return fail(q, err)
		}
		answer := []byte{cmaNack}
		if msg[0] == shmOffer && own != nil {
			if seg, err := openShm(infos[q].pid, int(binary.LittleEndian.Uint32(msg[1:])), segLen); err == nil {
				theirs[q] = seg
				t.shm.segs = append(t.shm.segs, seg)
				answer[0] = cmaAck
			}
		}
		if _, err := p.ack.Write(answer); err != nil {
			return fail(q, err)
		}
	}
	me := index(t.rank)
	for _, q := range local {
		if q == t.rank {
			continue
		}
		p := t.peers[q]
		var answer [1]byte
		if _, err := io.ReadFull(p.ack, answer[:]); err != nil {
			return fail(q, err)
		}
		seg := theirs[q]
		if answer[0] != cmaAck || seg == nil {
			continue // TCP with this peer
		}
		// This rank's messages to q lie in q's segment, in the ring for
		// this rank; q's to this rank in this rank's, in q's ring.
		l := &shmLink{}
		qi := index(q)
		l.tx.view(seg[shmCtlLen+me*shmRingLen:][:shmRingLen], bellAt(seg))
		l.rx.view(own[shmCtlLen+qi*shmRingLen:][:shmRingLen], bellAt(seg))
		p.shm = l
	}
	return nil
}

// Moving messages. A message takes one slot or more; the meta line of its
// first slot holds its header, which the receiver checks before using any
// of it.

// shmOut is a message being written into a ring.
type shmOut struct {
	r       *shmRing
	h       Header
	payload []byte
	off     int
	started bool
}

func (o *shmOut) done() bool { return o.started && o.off >= len(o.payload) }

// step fills up to limit free slots and publishes them; it reports
// whether it moved anything.
func (o *shmOut) step(limit int) bool {
	r := o.r
	n := min(r.free(), limit, slotsFor(len(o.payload)-o.off))
	if n <= 0 || o.done() {
		return false
	}
	next := r.pos
	for range n {
		if !o.started {
			o.h.encode(r.metaAt(next))
			o.started = true
		}
		o.off += copy(r.slotAt(next), o.payload[o.off:])
		next++
	}
	r.pos = next
	r.head.Store(next)
	r.other.ring()
	return true
}

// shmIn is a message being taken out of a ring.
type shmIn struct {
	r       *shmRing
	order   *raceOrder
	want    Header
	dst     []byte
	reduce  func(dst, src []byte)
	off     int
	started bool
}

func (m *shmIn) done() bool { return m.started && m.off >= len(m.dst) }

// step takes up to limit published slots; it reports whether it moved
// anything, or a mismatched header.
func (m *shmIn) step(limit int) (bool, error) {
	r := m.r
	n := min(r.ready(), limit)
	if n <= 0 || m.done() {
		return false, nil
	}
	if !m.started {
		if err := checkHeader(decodeHeader(r.metaAt(r.pos)), m.want); err != nil {
			return false, err
		}
		m.order.acquire()
		m.started = true
	}
	for range n {
		k := min(shmSlot, len(m.dst)-m.off)
		if src := r.slotAt(r.pos)[:k]; m.reduce != nil {
			m.reduce(m.dst[m.off:m.off+k], src)
		} else {
			copy(m.dst[m.off:m.off+k], src)
		}
		m.off += k
		r.pos++
		if m.off >= len(m.dst) {
			break
		}
	}
	r.tail.Store(r.pos)
	r.other.ring()
	return true, nil
}

func (t *tcpTransport) shmSend(ctx context.Context, p *tcpPeer, h Header, payload []byte) error {
	o := shmOut{r: &p.shm.tx, h: h, payload: payload}
	for !o.done() {
		if err := t.shmAwait(ctx, func() bool { return o.r.free() > 0 }); err != nil {
			return err
		}
		o.step(shmSlots)
	}
	return nil
}

func (t *tcpTransport) shmRecv(ctx context.Context, p *tcpPeer, want Header, dst []byte, reduce func(dst, src []byte)) error {
	in := shmIn{r: &p.shm.rx, order: &t.order, want: want, dst: dst, reduce: reduce}
	for !in.done() {
		if err := t.shmAwait(ctx, func() bool { return in.r.ready() > 0 }); err != nil {
			return err
		}
		if _, err := in.step(shmSlots); err != nil {
			return err
		}
	}
	return nil
}

// shmStream runs n transfers to one peer and from another (or the same)
// at once, in this goroutine (see exchanger.stream): a batch of slots one
// way, then the other, so that neither direction waits for the other to
// end. Two ranks sending each other more than a ring holds cannot block
// each other this way: a rank stops sending only while it has something
// to receive or is waiting for it. Empty messages are skipped when
// skipEmpty is set, else sent as a header alone.
func (t *tcpTransport) shmStream(ctx context.Context, to, from *tcpPeer, h Header, n, gap int, skipEmpty bool, outs, ins func(i int) []byte, red func(i int) func(dst, src []byte)) error {
	o := shmOut{r: &to.shm.tx}
	m := shmIn{r: &from.shm.rx, order: &t.order}
	oi, ii := -1, -1 // the transfers o and m are at
	nextOut := func() {
		for oi++; oi < n; oi++ {
			if b := outs(oi); len(b) > 0 || !skipEmpty {
				h.Len = int64(len(b))
				o = shmOut{r: o.r, h: h, payload: b}
				return
			}
		}
	}
	nextIn := func() {
		for ii++; ii < n; ii++ {
			if b := ins(ii); len(b) > 0 || !skipEmpty {
				want := h
				want.Len = int64(len(b))
				m = shmIn{r: m.r, order: m.order, want: want, dst: b, reduce: red(ii)}
				return
			}
		}
	}
	nextOut()
	nextIn()
	// sendable is how many slots of the current outgoing message have
	// arrived: all of them, unless it is the region still coming in.
	sendable := func() int {
		if oi >= n {
			return 0
		}
		if oi < gap || ii > oi-gap {
			return shmBatch
		}
		if ii < oi-gap {
			return 0
		}
		if m.off >= len(o.payload) {
			return shmBatch
		}
		return (m.off - o.off) / shmSlot
	}
	for oi < n || ii < n {
		moved := o.step(min(shmBatch, sendable()))
		if oi < n && o.done() {
			nextOut()
		}
		got := false
		if ii < n {
			var err error
			if got, err = m.step(shmBatch); err != nil {
				return err
			}
			if m.done() {
				nextIn()
			}
		}
		if moved || got {
			continue
		}
		if ii < n {
			t.waiting.Store(int64(from.rank) + 1)
		}
		canSend := sendable() > 0
		if err := t.shmAwait(ctx, func() bool {
			return canSend && o.r.free() > 0 || ii < n && m.r.ready() > 0
		}); err != nil {
			return err
		}
	}
	return nil
}

// shmAwait waits until cond holds: polling for a while (while the peers
// run, polling is what keeps a message's latency at memory speed), then
// sleeping on this rank's bell a few milliseconds at a time. It returns
// early when the transport fails or ctx ends.
//
// How long it polls adapts, between shmSpinMin and t.spin: it doubles
// after a wait that polling ended or would have ended had it polled up
// to t.spin, and halves after a longer one. On a host with more runnable
// threads than cores, waits grow long, and polling would only take the
// core of the rank being waited for: sleeping soon is what lets it run.
func (t *tcpTransport) shmAwait(ctx context.Context, cond func() bool) error {
	if cond() {
		return nil
	}
	spin := time.Duration(t.spinNow.Load())
	start := time.Now()
	adapt := func() {
		if time.Since(start) <= t.spin {
			if spin < t.spin {
				t.spinNow.Store(int64(min(t.spin, 2*spin)))
			}
		} else if spin > shmSpinMin {
			t.spinNow.Store(int64(max(shmSpinMin, spin/2)))
		}
	}
	for i := 1; ; i++ {
		if cond() {
			adapt()
			return nil
		}
		if i&63 != 0 {
			continue
		}
		if err := t.stopped(ctx); err != nil {
			return err
		}
		if time.Since(start) > spin {
			break
		}
		if i&1023 == 0 {
			goruntime.Gosched() // let this process's other goroutines run
		}
	}
	b := t.shm.bell
	for {
		v := b.word.Load()
		b.asleep.Store(1)
		if cond() {
			adapt()
			return nil // the flag stays: at worst a peer wakes nobody
		}
		futexWait(b.word, v, shmSleep)
		if cond() {
			adapt()
			return nil
		}
		if err := t.stopped(ctx); err != nil {
			return err
		}
	}
}

// stopped reports why a wait must end: the transport failed or ctx ended.
func (t *tcpTransport) stopped(ctx context.Context) error {
	if t.dead.Load() {
		return t.cause
	}
	return ctx.Err()
}

// wakeAll rings this rank's bell, so that its sleepers notice a failure
// at once.
func (t *tcpTransport) wakeAll() {
	t.shmMu.Lock()
	defer t.shmMu.Unlock()
	if t.unmapped || t.shm.own == nil {
		return
	}
	t.shm.bell.word.Add(1)
	futexWake(t.shm.bell.word)
}
