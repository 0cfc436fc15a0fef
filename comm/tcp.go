package comm

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The TCP transport connects every pair of ranks with several data
// connections, over which large messages are striped so that more than one
// kernel socket path (and core) carries them, plus one control
// connection. The control connection carries no data: it is how a rank
// learns at once that a peer died (EOF without a goodbye) or aborted (an
// abort message with the reason), even while it is waiting on another
// peer, so that no rank waits for its timeout when it need not.

// TCPOptions tune the TCP transport.
type TCPOptions struct {
	// Conns is the number of data connections per peer. Default 2.
	Conns int
	// Spin is how long a read polls before parking (see spinReader): 0
	// for the default (50µs while every local rank has a core, else none),
	// below 0 for never.
	Spin time.Duration
	// SocketBuffer is the send and receive buffer size asked of the kernel
	// (which caps it at net.core.[rw]mem_max). Default 4 MiB; -1 leaves
	// the kernel's autotuning alone.
	SocketBuffer int
}

func (o TCPOptions) withDefaults() TCPOptions {
	if o.Conns <= 0 {
		o.Conns = 2
	}
	if o.SocketBuffer == 0 {
		o.SocketBuffer = 4 << 20
	}
	return o
}

const (
	tcpMagic    = 0x676f636e // "gocn"
	ctrlIndex   = 0xffffffff // handshake index of the control connection
	stripeMin   = 256 << 10  // messages below this use one connection
	readPiece   = 256 << 10  // reduction reads this much at a time
	ctrlBye     = 'B'
	ctrlAbort   = 'A'
	ctrlQuery   = 'Q' // "whom are you waiting for?"
	ctrlAnswer  = 'W' // the answer: a rank, or -1 when not waiting
	handshake   = 20
	lostWait    = 250 * time.Millisecond
	spinTime    = 50 * time.Microsecond // see spinReader
	eagerInline = 4 << 10               // inline messages that never wait for the reader
	abortWrite  = time.Second
)

type tcpTransport struct {
	rank, size int
	peers      []*tcpPeer // nil at this rank

	failOnce sync.Once
	failed   chan struct{}
	cause    error
	dead     atomic.Bool // failed is closed; cheaper to poll

	spin    time.Duration // how long waits poll before sleeping, at most
	spinNow atomic.Int64  // and for now (shared memory adapts it; see shmAwait)

	// Shared-memory operations in progress, and whether Close has begun:
	// the segments are unmapped only when none is.
	shmOps   atomic.Int64
	shmShut  atomic.Bool
	shmMu    sync.Mutex // guards unmapped, and the segments' bells against unmapping
	unmapped bool
	shm      shmState

	closeMu sync.Mutex
	closing bool

	// waiting is the peer a Recv is blocked on, plus one (0: none). It
	// stays set when the Recv fails, so that a rank that timed out still
	// tells others whom it was waiting for.
	waiting   atomic.Int64
	diagRun   sync.Mutex
	diagMu    sync.Mutex    // guards answers, answerC, diagnosed
	answers   map[int]int   // peer → whom it waits for, during a diagnosis
	answerC   chan struct{} // signalled on each answer
	diagnosed *diagnosis    // the first diagnosis, reused by later timeouts

	probe *uint64 // the word peers read to test cross-memory attach
	order raceOrder
}

type diagnosis struct {
	culprit int
	why     string
}

type tcpPeer struct {
	rank    int
	data    []*tcpConn
	ctrl    net.Conn
	ack     net.Conn // cross-memory attach: "done reading your buffer"
	ackR    *bufio.Reader
	pid     int      // the peer's process, when on this host
	shm     *shmLink // messages go through shared memory, when not nil
	cmaSend bool     // large messages to the peer go by cross-memory attach
	cmaRecv bool     // and from it
	addrBuf [headerSize + 8]byte
	// Messages sent by address, and acknowledgements read by Flush.
	sent, acked int64
	ctrlMu      sync.Mutex // writes on ctrl
	byeOnce     sync.Once
	bye         chan struct{} // the peer said goodbye, or its control connection ended
}

type tcpConn struct {
	c       net.Conn
	r       *bufio.Reader
	whdr    [headerSize]byte // Send's, apart from Recv's: they run at once
	rhdr    [headerSize]byte
	scratch []byte // reduction reads; allocated on first use
}

// probeCMA decides, for each peer on this host, whether large messages
// go by cross-memory attach: this rank tries to read the peer's probe word
// and tells the peer whether it could, on the acknowledgement connection.
// Both ends of a direction so agree before any message, and a kernel that
// refuses (ptrace rules, containers) means TCP for that direction.
func (t *tcpTransport) probeCMA(ctx context.Context, infos []peerInfo) error {
	self := infos[t.rank]
	for q, p := range t.peers {
		in := infos[q]
		if p == nil || self.host == "" || in.host != self.host || self.probe == 0 || in.probe == 0 {
			continue
		}
		p.pid = in.pid
		var word [8]byte
		ok := vmRead(in.pid, in.probe, word[:]) == nil && binary.LittleEndian.Uint64(word[:]) == uint64(in.pid)
		verdict := []byte{cmaNack}
		if ok {
			verdict[0] = cmaAck
		}
		p.cmaRecv = ok
		stop := context.AfterFunc(ctx, func() { p.ack.SetDeadline(time.Now()) })
		_, err := p.ack.Write(verdict)
		if err == nil {
			_, err = io.ReadFull(p.ack, verdict)
		}
		stop()
		if err != nil {
			return fmt.Errorf("comm: rank %d: agreeing on cross-memory attach with rank %d: %w", t.rank, q, err)
		}
		p.cmaSend = verdict[0] == cmaAck
	}
	return nil
}

func (t *tcpTransport) Rank() int { return t.rank }
func (t *tcpTransport) Size() int { return t.size }

// Params: loopback or a data-centre network; a few tens of microseconds a
// message, a few GB/s.
func (t *tcpTransport) Params() LinkParams {
	return LinkParams{Latency: 25 * time.Microsecond, Bandwidth: 3e9, ReduceBandwidth: 3e9}
}

// stripes cuts n bytes into k ranges at multiples of 64 bytes, or one
// range for small messages.
func stripes(n, k int) []int {
	if n < stripeMin || k == 1 {
		return []int{0, n}
	}
	per := (ceilDiv(n, k) + 63) &^ 63
	off := make([]int, k+1)
	for i := range off {
		off[i] = min(n, i*per)
	}
	return off
}

// interruptOn makes blocked I/O with p return when ctx ends.
func (t *tcpTransport) interruptOn(ctx context.Context, p *tcpPeer) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		for _, c := range p.data {
			c.c.SetDeadline(time.Now())
		}
		p.ack.SetDeadline(time.Now())
	})
}

// ioErr explains a failed read or write with peer.
func (t *tcpTransport) ioErr(ctx context.Context, peer int, err error) error {
	select {
	case <-t.failed:
		return t.cause
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The connection broke: perhaps because the peer aborted and its abort
	// message, with the reason, is arriving on the control connection.
	select {
	case <-t.failed:
		return t.cause
	case <-time.After(lostWait):
	}
	return &PeerError{Rank: peer, Err: fmt.Errorf("%w: connection to rank %d: %v", ErrPeerLost, peer, err)}
}

func (t *tcpTransport) Send(ctx context.Context, peer int, h Header, payload []byte) error {
	defer t.order.release()
	select {
	case <-t.failed:
		return t.cause
	default:
	}
	p := t.peers[peer]
	if p.shm != nil {
		if !t.shmEnter() {
			return t.closedErr()
		}
		defer t.shmOps.Add(-1)
		return t.shmSend(ctx, p, h, payload)
	}
	stop := t.interruptOn(ctx, p)
	defer stop()
	c0 := p.data[0]
	if p.cmaSend && len(payload) >= cmaMin {
		h.encode(p.addrBuf[:])
		binary.LittleEndian.PutUint64(p.addrBuf[headerSize:], addressOf(payload))
		if _, err := c0.c.Write(p.addrBuf[:]); err != nil {
			return t.ioErr(ctx, peer, err)
		}
		// Not waiting for the peer to have read it: Flush does, at the end
		// of the call. Meanwhile this rank goes on with the next step.
		p.sent++
		return nil
	}
	h.encode(c0.whdr[:])
	return t.sendInline(ctx, p, c0.whdr[:], payload)
}

// eager: a message sent by address is a header, and a small one fits the
// socket's buffer or the free slots of shared memory; neither waits for
// the peer. (A large inline message could: two ranks writing to each other
// with full buffers would wait for each other for ever if neither read.)
// Shared memory's slots are counted with room to spare for what the
// previous call may have left there.
func (t *tcpTransport) eager(peer, n, msgs int) bool {
	p := t.peers[peer]
	if p.shm != nil {
		return msgs*slotsFor(n) <= shmSlots/4
	}
	return p.cmaSend && n >= cmaMin || n <= eagerInline && msgs*n <= 256<<10
}

// exchanges: a send and a receive go forward together, in one goroutine,
// between peers reached through shared memory (see shmSendRecv).
func (t *tcpTransport) exchanges(to, from int) bool {
	return t.peers[to].shm != nil && t.peers[from].shm != nil
}

func (t *tcpTransport) sendRecv(ctx context.Context, to int, hOut Header, out []byte, from int, hIn Header, in []byte, reduce func(dst, src []byte)) error {
	return t.runStream(ctx, to, from, hOut, 1, 1, false,
		func(int) []byte { return out }, func(int) []byte { return in },
		func(int) func(dst, src []byte) { return reduce })
}

func (t *tcpTransport) stream(ctx context.Context, to, from int, h Header, n, gap int, outs, ins func(i int) []byte, red func(i int) func(dst, src []byte)) error {
	return t.runStream(ctx, to, from, h, n, gap, true, outs, ins, red)
}

func (t *tcpTransport) runStream(ctx context.Context, to, from int, h Header, n, gap int, skipEmpty bool, outs, ins func(i int) []byte, red func(i int) func(dst, src []byte)) error {
	defer t.order.release()
	if !t.shmEnter() {
		return t.closedErr()
	}
	defer t.shmOps.Add(-1)
	if err := t.shmStream(ctx, t.peers[to], t.peers[from], h, n, gap, skipEmpty, outs, ins, red); err != nil {
		return err
	}
	t.waiting.Store(0)
	return nil
}

// shmEnter counts a shared-memory operation in, unless Close has begun.
func (t *tcpTransport) shmEnter() bool {
	t.shmOps.Add(1)
	if t.shmShut.Load() {
		t.shmOps.Add(-1)
		return false
	}
	return true
}

func (t *tcpTransport) closedErr() error {
	if t.dead.Load() {
		return t.cause
	}
	return fmt.Errorf("comm: rank %d: %w", t.rank, net.ErrClosed)
}

// sendInline writes hdr (if any) and payload, striped over the data
// connections when large.
func (t *tcpTransport) sendInline(ctx context.Context, p *tcpPeer, hdr, payload []byte) error {
	peer := p.rank
	off := stripes(len(payload), len(p.data))
	c0 := p.data[0]
	if len(off) == 2 {
		bufs := net.Buffers{hdr, payload}
		if _, err := bufs.WriteTo(c0.c); err != nil {
			return t.ioErr(ctx, peer, err)
		}
		return nil
	}
	errs := make(chan error, len(off)-1)
	for i := range len(off) - 1 {
		go func() {
			part := payload[off[i]:off[i+1]]
			var err error
			if i == 0 {
				bufs := net.Buffers{hdr, part}
				_, err = bufs.WriteTo(c0.c)
			} else {
				_, err = p.data[i].c.Write(part)
			}
			errs <- err
		}()
	}
	var first error
	for range len(off) - 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
			for _, c := range p.data {
				c.c.SetDeadline(time.Now()) // the message is lost: stop the other stripes
			}
		}
	}
	if first != nil {
		return t.ioErr(ctx, peer, first)
	}
	return nil
}

func (t *tcpTransport) Recv(ctx context.Context, peer int, want Header, dst []byte, reduce func(dst, src []byte)) error {
	select {
	case <-t.failed:
		return t.cause
	default:
	}
	p := t.peers[peer]
	t.waiting.Store(int64(peer) + 1)
	if p.shm != nil {
		if !t.shmEnter() {
			return t.closedErr()
		}
		defer t.shmOps.Add(-1)
		if err := t.shmRecv(ctx, p, want, dst, reduce); err != nil {
			return err
		}
		t.waiting.Store(0)
		return nil
	}
	stop := t.interruptOn(ctx, p)
	defer stop()
	c0 := p.data[0]
	if _, err := io.ReadFull(c0.r, c0.rhdr[:]); err != nil {
		return t.ioErr(ctx, peer, err)
	}
	if err := checkHeader(decodeHeader(c0.rhdr[:]), want); err != nil {
		return err
	}
	t.order.acquire()
	if p.cmaRecv && len(dst) >= cmaMin {
		var a [8]byte
		if _, err := io.ReadFull(c0.r, a[:]); err != nil {
			return t.ioErr(ctx, peer, err)
		}
		if c0.scratch == nil {
			c0.scratch = alignedBytes(readPiece)
		}
		if err := cmaRead(p.pid, binary.LittleEndian.Uint64(a[:]), dst, reduce, c0.scratch); err != nil {
			// The probe at connection time passed, so the peer's process
			// is gone: perhaps after failing itself, its reason arriving.
			return t.ioErr(ctx, peer, err)
		}
		if _, err := p.ack.Write([]byte{cmaAck}); err != nil {
			return t.ioErr(ctx, peer, err)
		}
		t.waiting.Store(0)
		return nil
	}
	return t.recvInline(ctx, p, dst, reduce)
}

// Flush waits until every peer has read the buffers this rank sent it by
// address, reading their acknowledgements (one byte per message, queued
// in the socket meanwhile) in the calling goroutine.
func (t *tcpTransport) Flush(ctx context.Context) error {
	for _, p := range t.peers {
		if p == nil || p.acked == p.sent { // always so for shared memory, which copies
			continue
		}
		stop := t.interruptOn(ctx, p)
		for p.acked < p.sent {
			b, err := p.ackR.ReadByte()
			if err == nil && b != cmaAck {
				err = fmt.Errorf("unexpected acknowledgement %q", b)
			}
			if err != nil {
				stop()
				if ctx.Err() != nil {
					t.waiting.Store(int64(p.rank) + 1)
					return &PeerError{Rank: p.rank, Err: fmt.Errorf("%w waiting for rank %d to read this rank's buffers: %w", ErrTimeout, p.rank, ctx.Err())}
				}
				return t.ioErr(ctx, p.rank, err)
			}
			p.acked++
		}
		stop()
	}
	return nil
}

// recvInline reads a payload sent by sendInline.
func (t *tcpTransport) recvInline(ctx context.Context, p *tcpPeer, dst []byte, reduce func(dst, src []byte)) error {
	peer, c0 := p.rank, p.data[0]
	off := stripes(len(dst), len(p.data))
	if len(off) == 2 {
		if err := c0.read(dst, reduce); err != nil {
			return t.ioErr(ctx, peer, err)
		}
		t.waiting.Store(0)
		return nil
	}
	errs := make(chan error, len(off)-1)
	for i := range len(off) - 1 {
		go func() { errs <- p.data[i].read(dst[off[i]:off[i+1]], reduce) }()
	}
	var first error
	for range len(off) - 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
			for _, c := range p.data {
				c.c.SetDeadline(time.Now())
			}
		}
	}
	if first != nil {
		return t.ioErr(ctx, peer, first)
	}
	t.waiting.Store(0)
	return nil
}

// diagnose asks every peer whom it is waiting for and follows the chain
// from suspect to the rank at its end: one that does not answer (stopped,
// or stuck outside GoCANN) or that waits for nobody (not in the call).
func (t *tcpTransport) diagnose(ctx context.Context, suspect int) (int, string) {
	t.diagRun.Lock() // one diagnosis at a time; later ones reuse the first
	defer t.diagRun.Unlock()
	t.diagMu.Lock()
	if d := t.diagnosed; d != nil {
		t.diagMu.Unlock()
		return d.culprit, d.why
	}
	t.answers = map[int]int{}
	t.answerC = make(chan struct{}, t.size)
	t.diagMu.Unlock()
	for _, p := range t.peers {
		if p != nil {
			p.writeCtrl([]byte{ctrlQuery})
		}
	}
wait:
	for {
		t.diagMu.Lock()
		n := len(t.answers)
		t.diagMu.Unlock()
		if n >= t.size-1 {
			break
		}
		select {
		case <-t.answerC:
		case <-ctx.Done():
			break wait // the silent ones are the suspects
		}
	}
	t.diagMu.Lock()
	defer t.diagMu.Unlock()
	culprit, why := suspect, ""
	seen := map[int]bool{t.rank: true}
	chain := []string{fmt.Sprint(suspect)}
	for c := suspect; ; {
		w, answered := t.answers[c]
		switch {
		case !answered:
			culprit, why = c, fmt.Sprintf("; rank %d does not respond", c)
		case w < 0:
			culprit, why = c, fmt.Sprintf("; rank %d is not in the call", c)
		case seen[w]:
			culprit, why = suspect, "; the ranks wait for each other in a cycle"
		default:
			seen[c] = true
			chain = append(chain, fmt.Sprint(w))
			c = w
			continue
		}
		break
	}
	if len(chain) > 1 {
		why += " (waits: " + strings.Join(chain, " → ") + ")"
	}
	t.diagnosed = &diagnosis{culprit, why}
	return culprit, why
}

func (p *tcpPeer) writeCtrl(b []byte) {
	p.ctrlMu.Lock()
	p.ctrl.SetWriteDeadline(time.Now().Add(abortWrite))
	p.ctrl.Write(b)
	p.ctrlMu.Unlock()
}

// read fills dst from the connection, or reduces into it piece by piece
// as the bytes arrive.
func (c *tcpConn) read(dst []byte, reduce func(dst, src []byte)) error {
	if reduce == nil {
		_, err := io.ReadFull(c.r, dst)
		return err
	}
	if c.scratch == nil {
		c.scratch = alignedBytes(readPiece)
	}
	for len(dst) > 0 {
		n := min(len(dst), len(c.scratch))
		if _, err := io.ReadFull(c.r, c.scratch[:n]); err != nil {
			return err
		}
		reduce(dst[:n], c.scratch[:n])
		dst = dst[n:]
	}
	return nil
}

// Abort fails everything and tells every peer why.
func (t *tcpTransport) Abort(cause error) { t.fail(cause, true) }

// fail records the cause, breaks the data connections (so that blocked
// operations return) and, when the failure was found here, sends the
// reason on every control connection.
func (t *tcpTransport) fail(cause error, tell bool) {
	t.failOnce.Do(func() {
		t.cause = cause
		t.dead.Store(true)
		close(t.failed)
		t.wakeAll()
		culprit := uint32(t.rank)
		var pe *PeerError
		if errors.As(cause, &pe) {
			culprit = uint32(pe.Rank)
		}
		msg := []byte(cause.Error())
		var wg sync.WaitGroup
		for _, p := range t.peers {
			if p == nil {
				continue
			}
			for _, c := range p.data {
				c.c.Close()
			}
			p.ack.Close()
			if !tell {
				continue
			}
			wg.Go(func() {
				b := make([]byte, 9, 9+len(msg))
				b[0] = ctrlAbort
				binary.LittleEndian.PutUint32(b[1:], culprit)
				binary.LittleEndian.PutUint32(b[5:], uint32(len(msg)))
				b = append(b, msg...)
				p.ctrlMu.Lock()
				p.ctrl.SetWriteDeadline(time.Now().Add(abortWrite))
				p.ctrl.Write(b)
				p.ctrlMu.Unlock()
			})
		}
		wg.Wait()
	})
}

// watch reads a peer's control connection until it ends.
func (t *tcpTransport) watch(p *tcpPeer) {
	r := bufio.NewReader(p.ctrl)
	var sawBye bool
	for {
		kind, err := r.ReadByte()
		if err != nil {
			break
		}
		switch kind {
		case ctrlQuery:
			b := make([]byte, 5)
			b[0] = ctrlAnswer
			binary.LittleEndian.PutUint32(b[1:], uint32(int32(t.waiting.Load()-1)))
			go p.writeCtrl(b) // not from this reader: both sides may query at once
		case ctrlAnswer:
			var b [4]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				break
			}
			t.diagMu.Lock()
			if t.answers != nil {
				t.answers[p.rank] = int(int32(binary.LittleEndian.Uint32(b[:])))
				select {
				case t.answerC <- struct{}{}:
				default:
				}
			}
			t.diagMu.Unlock()
		case ctrlBye:
			sawBye = true
			p.byeOnce.Do(func() { close(p.bye) })
		case ctrlAbort:
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				break
			}
			culprit := int(binary.LittleEndian.Uint32(b[:]))
			msg := make([]byte, min(binary.LittleEndian.Uint32(b[4:]), 1<<16))
			io.ReadFull(r, msg)
			t.fail(&PeerError{Rank: culprit, Err: fmt.Errorf("%w by rank %d: %s", ErrAborted, p.rank, msg)}, false)
		}
	}
	t.closeMu.Lock()
	closing := t.closing
	t.closeMu.Unlock()
	if !sawBye && !closing {
		t.fail(&PeerError{Rank: p.rank, Err: fmt.Errorf("%w: rank %d's process ended or its connection broke", ErrPeerLost, p.rank)}, false)
	}
	p.byeOnce.Do(func() { close(p.bye) })
}

// Close says goodbye to every peer, waits for theirs (or ctx), and closes
// the connections.
func (t *tcpTransport) Close(ctx context.Context) error {
	t.closeMu.Lock()
	if t.closing {
		t.closeMu.Unlock()
		return nil
	}
	t.closing = true
	t.closeMu.Unlock()
	select {
	case <-t.failed: // no goodbyes after a failure: nothing is in flight worth waiting for
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		return t.closeConns(ctx)
	default:
	}
	return t.closeConns(ctx)
}

// closeConns says goodbye, waits for the peers' goodbyes until ctx ends,
// and closes every connection.
func (t *tcpTransport) closeConns(ctx context.Context) error {
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		p.ctrlMu.Lock()
		p.ctrl.SetWriteDeadline(time.Now().Add(abortWrite))
		p.ctrl.Write([]byte{ctrlBye})
		p.ctrlMu.Unlock()
	}
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		select {
		case <-p.bye:
		case <-ctx.Done():
		}
	}
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		for _, c := range p.data {
			c.c.Close()
		}
		p.ack.Close()
		p.ctrl.Close()
	}
	t.unmapShm()
	return nil
}

// unmapShm releases the shared segments once no operation uses them
// (after a failure they all return at once). One still running after a
// while (a caller closing under its own feet) keeps them mapped: a leak,
// not a crash.
func (t *tcpTransport) unmapShm() {
	t.shmShut.Store(true)
	t.wakeAll()
	for deadline := time.Now().Add(abortWrite); t.shmOps.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return
		}
	}
	t.shmMu.Lock()
	defer t.shmMu.Unlock()
	if t.unmapped {
		return
	}
	t.unmapped = true
	for _, seg := range t.shm.segs {
		unmapShm(seg)
	}
}

// connectMesh connects this rank to every other: it dials the ranks below
// it and accepts the ranks above, on ln. tag tells this communicator's
// connections from stale ones of an earlier generation.
func connectMesh(ctx context.Context, rank int, infos []peerInfo, ln net.Listener, tag uint64, opts TCPOptions) (*tcpTransport, error) {
	opts = opts.withDefaults()
	size := len(infos)
	t := &tcpTransport{rank: rank, size: size, peers: make([]*tcpPeer, size), failed: make(chan struct{})}
	for q := range size {
		if q != rank {
			t.peers[q] = &tcpPeer{rank: q, data: make([]*tcpConn, opts.Conns), bye: make(chan struct{})}
		}
	}
	var mu sync.Mutex // guards the peers' connection slots while they fill
	place := func(from int, idx uint32, c net.Conn) error {
		mu.Lock()
		defer mu.Unlock()
		p := t.peers[from]
		switch {
		case idx == ctrlIndex && p.ctrl == nil:
			p.ctrl = c
		case idx == ackIndex && p.ack == nil:
			c.(*net.TCPConn).SetNoDelay(true)
			p.ack = c
		case idx < uint32(len(p.data)) && p.data[idx] == nil:
			tuneConn(c, opts.SocketBuffer)
			p.data[idx] = &tcpConn{c: c}
		default:
			return fmt.Errorf("comm: rank %d: duplicate connection %d from rank %d", rank, idx, from)
		}
		return nil
	}
	all := make([]net.Conn, 0, (size-1)*(opts.Conns+1))
	closeAll := func() {
		mu.Lock()
		for _, c := range all {
			c.Close()
		}
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	perPeer := opts.Conns + 2 // data, control, acknowledgements
	errs := make(chan error, 2)
	go func() { // accept the ranks above
		want := (size - 1 - rank) * perPeer
		for range want {
			c, err := ln.Accept()
			if err != nil {
				errs <- fmt.Errorf("comm: rank %d: accepting connections: %w", rank, err)
				return
			}
			mu.Lock()
			all = append(all, c)
			mu.Unlock()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			var b [handshake]byte
			if _, err := io.ReadFull(c, b[:]); err != nil {
				errs <- fmt.Errorf("comm: rank %d: handshake: %w", rank, err)
				return
			}
			c.SetReadDeadline(time.Time{})
			from := int(binary.LittleEndian.Uint32(b[12:]))
			if binary.LittleEndian.Uint32(b[0:]) != tcpMagic || binary.LittleEndian.Uint64(b[4:]) != tag || from <= rank || from >= size {
				errs <- fmt.Errorf("comm: rank %d: unexpected connection from %v (another job or generation?)", rank, c.RemoteAddr())
				return
			}
			if err := place(from, binary.LittleEndian.Uint32(b[16:]), c); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() { // dial the ranks below
		var d net.Dialer
		for q := range rank {
			for i := range perPeer {
				idx := uint32(i)
				switch i {
				case opts.Conns:
					idx = ctrlIndex
				case opts.Conns + 1:
					idx = ackIndex
				}
				c, err := dialRetry(ctx, &d, infos[q].addr)
				if err != nil {
					errs <- fmt.Errorf("comm: rank %d: connecting to rank %d at %s: %w", rank, q, infos[q].addr, err)
					return
				}
				mu.Lock()
				all = append(all, c)
				mu.Unlock()
				var b [handshake]byte
				binary.LittleEndian.PutUint32(b[0:], tcpMagic)
				binary.LittleEndian.PutUint64(b[4:], tag)
				binary.LittleEndian.PutUint32(b[12:], uint32(rank))
				binary.LittleEndian.PutUint32(b[16:], idx)
				if _, err := c.Write(b[:]); err != nil {
					errs <- fmt.Errorf("comm: rank %d: handshake with rank %d: %w", rank, q, err)
					return
				}
				if err := place(q, idx, c); err != nil {
					errs <- err
					return
				}
			}
		}
		errs <- nil
	}()
	for range 2 {
		if err := <-errs; err != nil {
			cancel()
			closeAll()
			if ctx.Err() != nil && errors.Is(err, net.ErrClosed) {
				err = fmt.Errorf("comm: rank %d: connecting the ranks: %w", rank, context.Cause(ctx))
			}
			return nil, err
		}
	}
	if err := t.probeCMA(ctx, infos); err != nil {
		closeAll()
		return nil, err
	}
	if err := t.setupShm(ctx, infos); err != nil {
		closeAll()
		t.unmapShm()
		return nil, err
	}
	// Spin on reads only while every rank of this host has a core.
	local := 1
	for q, in := range infos {
		if q != rank && in.host != "" && in.host == infos[rank].host {
			local++
		}
	}
	spin := opts.Spin
	if spin == 0 && local <= goruntime.NumCPU() {
		spin = spinTime
	}
	t.spin = max(0, spin)
	t.spinNow.Store(int64(t.spin))
	for _, p := range t.peers {
		if p == nil {
			continue
		}
		for _, c := range p.data {
			c.r = bufio.NewReaderSize(newSpinReader(c.c, spin), 64<<10)
		}
		p.ackR = bufio.NewReader(newSpinReader(p.ack, spin))
	}
	for _, p := range t.peers {
		if p != nil {
			go t.watch(p)
		}
	}
	return t, nil
}

// dialRetry dials until the peer answers or ctx ends: its listener is up
// before its address is published, but a busy machine may refuse briefly.
func dialRetry(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	wait := 10 * time.Millisecond
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil && c.LocalAddr().String() == c.RemoteAddr().String() {
			// TCP's simultaneous open connected the socket to itself: the
			// port is free and the kernel picked it as our source port.
			// Keeping it would stop the real listener from binding.
			c.Close()
			err = fmt.Errorf("connected to itself at %s", addr)
		}
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// tuneConn turns off Nagle's algorithm (headers must not wait for the
// next payload) and asks for large socket buffers, so that a ring's sends
// do not stall on a receiver busy reducing.
func tuneConn(c net.Conn, buf int) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	tc.SetNoDelay(true)
	if buf > 0 {
		tc.SetReadBuffer(buf)
		tc.SetWriteBuffer(buf)
	}
}
