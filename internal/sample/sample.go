// Package sample embeds GoCANN's built-in sample model: a multilayer
// perceptron that reads 8x8 handwritten digits (the UCI digits set as
// scikit-learn ships it), trained by ./train, with its held-out test set.
// `cann run` with no model runs it.
package sample

import (
	_ "embed"
	"fmt"

	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/tensor"
)

//go:generate go run ./train -out .

//go:embed digits.onnx
var modelBytes []byte

//go:embed test_x.pb
var testX []byte

//go:embed test_y.pb
var testY []byte

// Name describes the sample in output.
const Name = "digits MLP (built-in sample: 8x8 handwritten digits, UCI/scikit-learn)"

// Model returns the serialized ONNX model.
func Model() []byte { return modelBytes }

// TestSet returns the held-out images, float32 [N, 64] scaled to [0, 1],
// and their labels.
func TestSet() (images *tensor.Tensor, labels []int64, err error) {
	_, x, err := onnx.DecodeTensor(testX)
	if err != nil {
		return nil, nil, fmt.Errorf("sample test images: %w", err)
	}
	_, y, err := onnx.DecodeTensor(testY)
	if err != nil {
		return nil, nil, fmt.Errorf("sample test labels: %w", err)
	}
	labels, err = tensor.ToSlice[int64](y)
	if err != nil {
		return nil, nil, err
	}
	if x.Rank() != 2 || x.Shape()[0] != len(labels) {
		return nil, nil, fmt.Errorf("sample test set: %d labels for images %v", len(labels), x.Shape())
	}
	return x, labels, nil
}
