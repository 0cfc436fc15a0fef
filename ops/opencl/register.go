package opencl

import (
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/runtime"
)

// backendName is the runtime backend whose devices these kernels run on.
const backendName = "opencl"

// DeviceOps lists the OpenCL kernels of the standard operators.
func DeviceOps() []*ops.DeviceOp {
	d := func(name string, versions []int, prepare func(rd runtime.Device, n *ops.Node, plan *ops.Plan) (*ops.DevicePlan, error)) *ops.DeviceOp {
		return &ops.DeviceOp{Backend: backendName, Name: name, Versions: versions, Prepare: prepare}
	}
	var list []*ops.DeviceOp
	for _, o := range unaryOps() {
		list = append(list, o.deviceOp())
	}
	for _, o := range binaryOps() {
		list = append(list, o.deviceOp())
	}
	for _, o := range reduceOps() {
		list = append(list, o.deviceOp())
	}
	return append(list,
		d("Not", []int{1}, prepareNot),
		d("Where", []int{9, 16}, prepareWhere),
		d("Cast", []int{6, 9, 13, 19, 21}, prepareCast),
		d("MatMul", []int{1, 9, 13}, prepareMatMul),
		d("Gemm", []int{7, 9, 11, 13}, prepareGemm),
		d("Conv", []int{1, 11}, prepareConv),
		d("MaxPool", []int{8, 10, 11, 12}, preparePool),
		d("AveragePool", []int{7, 10, 11, 19}, preparePool),
		d("GlobalAveragePool", []int{1}, prepareGlobalPool(rMean)),
		d("GlobalMaxPool", []int{1}, prepareGlobalPool(rMax)),
		d("Softmax", []int{1, 11, 13}, prepareSoftmax),
		d("LogSoftmax", []int{1, 11, 13}, prepareSoftmax),
		d("LayerNormalization", []int{17}, prepareLayerNorm),
		d("Reshape", []int{5, 13, 14, 19, 21}, prepareView),
		d("Flatten", []int{1, 9, 11, 13, 21}, prepareView),
		d("Squeeze", []int{1, 11, 13, 21}, prepareView),
		d("Unsqueeze", []int{1, 11, 13, 21}, prepareView),
		d("Identity", []int{1, 13, 14, 16, 19, 21}, prepareView),
		d("Dropout", []int{7, 10, 12, 13}, prepareView),
		d("Transpose", []int{1, 13, 21}, prepareTranspose),
		d("Concat", []int{4, 11, 13}, prepareConcat),
		d("Split", []int{2, 11, 13, 18}, prepareSplit),
		d("Slice", []int{10, 11, 13}, prepareSlice),
		d("Expand", []int{8, 13}, prepareExpand),
		d("Gather", []int{1, 11, 13}, prepareGather),
		d("Trilu", []int{14}, prepareTrilu),
		d("Shape", []int{1, 13, 15, 19, 21}, prepareShape),
		d("ConstantOfShape", []int{9, 20, 21}, prepareConstantOfShape),
	)
}

// Register adds the OpenCL kernels to reg, next to the operators they
// implement (which reg must already hold, e.g. from standard.NewRegistry).
func Register(reg *ops.Registry) error { return reg.RegisterDevice(DeviceOps()...) }
