package comm

import (
	"encoding/binary"
	"fmt"

	"github.com/gocann/gocann/tensor"
)

// Header travels before every message. It says which call the message
// belongs to, so that a receiver can tell a peer that made a different
// call (another collective, type, count, root or reduction, or a call out
// of order) from one that is merely slow: it compares the header it gets
// with the one it expects and fails with ErrMismatch on any difference.
type Header struct {
	Coll  Collective   // the call
	Algo  Algorithm    // the algorithm its ranks chose (they must agree)
	Op    ReduceOp     // reduction, 0 for the others
	DType tensor.DType // element type as called (not as widened)
	Root  int32        // root rank, 0 when the call has none
	Seq   uint64       // the call's number: collectives count per communicator, point-to-point per pair
	Count int64        // elements in the call (per rank, as the caller passed them)
	Len   int64        // payload bytes of this message
}

// headerSize is the encoded size of a Header.
const headerSize = 40

func (h *Header) encode(b []byte) {
	_ = b[headerSize-1]
	b[0], b[1], b[2], b[3] = byte(h.Coll), byte(h.Algo), byte(h.Op), 0
	binary.LittleEndian.PutUint32(b[4:], uint32(h.DType))
	binary.LittleEndian.PutUint32(b[8:], uint32(h.Root))
	binary.LittleEndian.PutUint32(b[12:], 0)
	binary.LittleEndian.PutUint64(b[16:], h.Seq)
	binary.LittleEndian.PutUint64(b[24:], uint64(h.Count))
	binary.LittleEndian.PutUint64(b[32:], uint64(h.Len))
}

func decodeHeader(b []byte) Header {
	_ = b[headerSize-1]
	return Header{
		Coll:  Collective(b[0]),
		Algo:  Algorithm(b[1]),
		Op:    ReduceOp(b[2]),
		DType: tensor.DType(binary.LittleEndian.Uint32(b[4:])),
		Root:  int32(binary.LittleEndian.Uint32(b[8:])),
		Seq:   binary.LittleEndian.Uint64(b[16:]),
		Count: int64(binary.LittleEndian.Uint64(b[24:])),
		Len:   int64(binary.LittleEndian.Uint64(b[32:])),
	}
}

// String describes the call a header belongs to, for mismatch errors.
func (h Header) String() string {
	s := fmt.Sprintf("%v #%d (%v, %v×%d", h.Coll, h.Seq, h.Algo, h.DType, h.Count)
	if h.Op != 0 {
		s += ", " + h.Op.String()
	}
	if h.Coll.rooted() {
		s += fmt.Sprintf(", root %d", h.Root)
	}
	return s + fmt.Sprintf(", %d-byte message)", h.Len)
}

// checkHeader compares a received header with the expected one.
func checkHeader(got, want Header) error {
	if got == want {
		return nil
	}
	return fmt.Errorf("%w: peer sent %v, this rank expects %v", ErrMismatch, got, want)
}
