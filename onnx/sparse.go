package onnx

import (
	"fmt"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/tensor"
)

// sparseToDense converts a SparseTensorProto to a dense host tensor: the
// default value (zero, or "" for strings) everywhere except at the listed
// indices. Every index is checked against the dense shape.
func sparseToDense(sp *onnxpb.SparseTensorProto, o *options) (*tensor.Tensor, error) {
	if sp == nil || sp.GetValues() == nil {
		return nil, fmt.Errorf("sparse tensor without values: %w", ErrInvalidModel)
	}
	values, err := tensorFromProto(sp.GetValues(), o)
	if err != nil {
		return nil, fmt.Errorf("sparse values: %w", err)
	}
	if values.Rank() != 1 {
		return nil, fmt.Errorf("sparse values have shape %v, want [NNZ]: %w", values.Shape(), ErrInvalidModel)
	}
	nnz := values.Len()
	shape := make(tensor.Shape, len(sp.GetDims()))
	for i, d := range sp.GetDims() {
		if d < 0 || d > maxElements {
			return nil, fmt.Errorf("sparse dims %v: %w", sp.GetDims(), ErrInvalidModel)
		}
		shape[i] = int(d)
	}
	if len(shape) > maxRank {
		return nil, fmt.Errorf("sparse rank %d: %w", len(shape), ErrInvalidModel)
	}
	if err := shape.Validate(); err != nil {
		return nil, fmt.Errorf("sparse dims %v: %v: %w", shape, err, ErrInvalidModel)
	}
	if n := int64(shape.NumElements()) * int64(max(values.DType().Size(), 1)); n > o.maxBytes {
		return nil, tooLargeError(n)
	}
	dense, err := tensor.New(values.DType(), shape)
	if err != nil {
		return nil, err
	}
	// Linear positions of the values, from either index layout.
	pos := make([]int, nnz)
	if nnz > 0 {
		if sp.GetIndices() == nil {
			return nil, fmt.Errorf("sparse tensor with %d values but no indices: %w", nnz, ErrInvalidModel)
		}
		idxT, err := tensorFromProto(sp.GetIndices(), o)
		if err != nil {
			return nil, fmt.Errorf("sparse indices: %w", err)
		}
		idx, err := tensor.View[int64](idxT)
		if err != nil {
			return nil, fmt.Errorf("sparse indices must be int64: %w", ErrInvalidModel)
		}
		total := shape.NumElements()
		strides := shape.Strides()
		switch {
		case idxT.Rank() == 1 && len(idx) == nnz:
			for i, v := range idx {
				if v < 0 || v >= int64(total) {
					return nil, fmt.Errorf("sparse index %d out of range for %d elements: %w", v, total, ErrInvalidModel)
				}
				pos[i] = int(v)
			}
		case idxT.Rank() == 2 && idxT.Shape()[0] == nnz && idxT.Shape()[1] == len(shape):
			for i := 0; i < nnz; i++ {
				p := 0
				for j, d := range shape {
					v := idx[i*len(shape)+j]
					if v < 0 || v >= int64(d) {
						return nil, fmt.Errorf("sparse index %d out of range for dim %d of size %d: %w", v, j, d, ErrInvalidModel)
					}
					p += int(v) * strides[j]
				}
				pos[i] = p
			}
		default:
			return nil, fmt.Errorf("sparse indices have shape %v for %d values of rank %d: %w", idxT.Shape(), nnz, len(shape), ErrInvalidModel)
		}
	}
	if values.DType() == tensor.String {
		src, _ := values.Strings()
		dst, err := tensor.View[string](dense)
		if err != nil {
			return nil, err
		}
		for i, p := range pos {
			dst[p] = src[i]
		}
		return dense, nil
	}
	src, _ := values.HostBytes()
	dst, _ := dense.HostBytes()
	size := values.DType().Size()
	for i, p := range pos {
		copy(dst[p*size:(p+1)*size], src[i*size:(i+1)*size])
	}
	return dense, nil
}
