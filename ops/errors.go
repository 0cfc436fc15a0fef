package ops

import "errors"

var (
	// ErrUnknownOp: no operator of that domain and name, or none defined
	// for the requested opset version.
	ErrUnknownOp = errors.New("unknown operator")
	// ErrInvalidNode: attributes or inputs that the operator rejects
	// (wrong arity, dtype, shape, attribute value, index out of range).
	ErrInvalidNode = errors.New("invalid node")
)
