package standard

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/gocann/gocann/ops"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/OPERATORS.md from the registry")

// onnxOperators is every operator of the default ONNX domain up to opset
// 21 (ONNX 1.16), from the ONNX operator list.
var onnxOperators = strings.Fields(`Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh
AveragePool BatchNormalization Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow
Cast CastLike Ceil Celu CenterCropPad Clip Col2Im Compress Concat ConcatFromSequence Constant ConstantOfShape
Conv ConvInteger ConvTranspose Cos Cosh CumSum DFT DeformConv DepthToSpace DequantizeLinear Det Div Dropout
DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements
GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample
GroupNormalization HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder
InstanceNormalization IsInf IsNaN LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop
LpNormalization LpPool MatMul MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization
MelWeightMatrix Min Mish Mod Mul Multinomial Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not
OneHot Optional OptionalGetElement OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul
QuantizeLinear RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1
ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare
RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign Round STFT Scan Scatter ScatterElements
ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength
SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign
SpaceToDepth Split SplitToSequence Sqrt Squeeze StringConcat StringNormalizer StringSplit Sub Sum Tan Tanh
TfIdfVectorizer ThresholdedRelu Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor`)

// Every ONNX operator is registered, and docs/OPERATORS.md lists exactly
// what the registry holds (regenerate with -update).
func TestOperatorTable(t *testing.T) {
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string][]int{}
	docs := map[string]string{}
	for _, op := range r.Ops() {
		k := ops.NormalizeDomain(op.Domain) + "\x00" + op.Name
		versions[k] = append(versions[k], op.Since)
		if op.Doc != "" {
			docs[k] = op.Doc
		}
	}
	for _, name := range onnxOperators {
		if _, ok := versions["\x00"+name]; !ok {
			t.Errorf("ONNX operator %s is not registered", name)
		}
	}
	keys := make([]string, 0, len(versions))
	for k := range versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Operators\n\nGenerated from the registry by `go test ./ops/standard -run TestOperatorTable -update`.\n")
	fmt.Fprintf(&b, "%d operators; since-versions are the opsets where a new version takes effect.\n\n", len(keys))
	b.WriteString("| domain | operator | versions | description |\n| --- | --- | --- | --- |\n")
	for _, k := range keys {
		domain, name, _ := strings.Cut(k, "\x00")
		if domain == "" {
			domain = "ai.onnx"
		}
		vs := make([]string, len(versions[k]))
		for i, v := range versions[k] {
			vs[i] = fmt.Sprint(v)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", domain, name, strings.Join(vs, ", "), docs[k])
	}
	const path = "../../docs/OPERATORS.md"
	if *updateDocs {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil || string(old) != b.String() {
		t.Errorf("%s is out of date with the registry: run go test ./ops/standard -run TestOperatorTable -update", path)
	}
}
