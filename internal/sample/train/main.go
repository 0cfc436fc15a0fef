// Command train trains GoCANN's built-in sample model — a small multilayer
// perceptron that reads handwritten digits — and writes it as ONNX beside
// the held-out test set that `cann run` embeds.
//
// The data is the UCI optical-recognition digits set (1,797 8x8 images, 16
// grey levels) as scikit-learn ships it. On Debian:
//
//	apt-get download python3-sklearn && dpkg-deb -x python3-sklearn_*.deb /tmp/skl
//	go run ./internal/sample/train -data /tmp/skl/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
//
// Training is plain Go, deterministic for a given -seed: minibatch SGD
// with momentum on softmax cross-entropy.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/onnx"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

const (
	inputs  = 64
	classes = 10
)

func main() {
	data := flag.String("data", "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", "scikit-learn's digits.csv.gz")
	out := flag.String("out", "internal/sample", "directory to write digits.onnx, test_x.pb and test_y.pb")
	hidden := flag.Int("hidden", 48, "hidden units")
	epochs := flag.Int("epochs", 80, "training epochs")
	seed := flag.Uint64("seed", 1, "random seed (split, initialization, shuffling)")
	test := flag.Int("test", 300, "samples held out for testing")
	flag.Parse()
	if err := run(*data, *out, *hidden, *epochs, *seed, *test); err != nil {
		log.Fatal(err)
	}
}

func run(dataPath, outDir string, hidden, epochs int, seed uint64, nTest int) error {
	xs, ys, err := readDigits(dataPath)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	perm := rng.Perm(len(xs))
	if nTest <= 0 || nTest >= len(xs) {
		return fmt.Errorf("-test %d: want 1..%d", nTest, len(xs)-1)
	}
	var trX, teX [][]float32
	var trY, teY []int
	for i, p := range perm {
		if i < nTest {
			teX, teY = append(teX, xs[p]), append(teY, ys[p])
		} else {
			trX, trY = append(trX, xs[p]), append(trY, ys[p])
		}
	}
	net := newMLP(hidden, rng)
	for e := 0; e < epochs; e++ {
		lr := 0.05 * 0.5 * (1 + math.Cos(math.Pi*float64(e)/float64(epochs))) // cosine decay
		net.epoch(trX, trY, float32(lr), rng)
	}
	fmt.Printf("train accuracy %.2f%% (%d samples), test accuracy %.2f%% (%d held out)\n",
		100*net.accuracy(trX, trY), len(trX), 100*net.accuracy(teX, teY), len(teX))
	return write(outDir, net, teX, teY)
}

// readDigits parses scikit-learn's digits.csv.gz: 64 pixel values (0..16)
// then the label, per line. Pixels are scaled to [0, 1].
func readDigits(path string) ([][]float32, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = inputs + 1
	var xs [][]float32
	var ys []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		x := make([]float32, inputs)
		for i := 0; i < inputs; i++ {
			v, err := strconv.ParseFloat(rec[i], 32)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			x[i] = float32(v / 16)
		}
		y, err := strconv.Atoi(rec[inputs])
		if err != nil || y < 0 || y >= classes {
			return nil, nil, fmt.Errorf("%s: bad label %q", path, rec[inputs])
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys, nil
}

// mlp is inputs -> hidden (ReLU) -> classes (softmax); weights stored
// [out][in], the layout of Gemm with transB=1.
type mlp struct {
	hidden         int
	w1, b1, w2, b2 []float32
	v1, c1, v2, c2 []float32 // momentum buffers
}

func newMLP(hidden int, rng *rand.Rand) *mlp {
	he := func(n, fanIn int) []float32 {
		w := make([]float32, n)
		s := math.Sqrt(2 / float64(fanIn))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * s)
		}
		return w
	}
	return &mlp{
		hidden: hidden,
		w1:     he(hidden*inputs, inputs), b1: make([]float32, hidden),
		w2: he(classes*hidden, hidden), b2: make([]float32, classes),
		v1: make([]float32, hidden*inputs), c1: make([]float32, hidden),
		v2: make([]float32, classes*hidden), c2: make([]float32, classes),
	}
}

func (m *mlp) forward(x []float32, h, p []float32) {
	for j := 0; j < m.hidden; j++ {
		s := m.b1[j]
		for i, xi := range x {
			s += m.w1[j*inputs+i] * xi
		}
		h[j] = max(s, 0)
	}
	mx := float32(math.Inf(-1))
	for k := 0; k < classes; k++ {
		s := m.b2[k]
		for j, hj := range h {
			s += m.w2[k*m.hidden+j] * hj
		}
		p[k] = s
		mx = max(mx, s)
	}
	var sum float32
	for k := range p {
		p[k] = float32(math.Exp(float64(p[k] - mx)))
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
}

func (m *mlp) epoch(xs [][]float32, ys []int, lr float32, rng *rand.Rand) {
	const batch, momentum = 32, 0.9
	order := rng.Perm(len(xs))
	g1, gb1 := make([]float32, len(m.w1)), make([]float32, len(m.b1))
	g2, gb2 := make([]float32, len(m.w2)), make([]float32, len(m.b2))
	h, p, dh := make([]float32, m.hidden), make([]float32, classes), make([]float32, m.hidden)
	for start := 0; start < len(order); start += batch {
		end := min(start+batch, len(order))
		clear(g1)
		clear(gb1)
		clear(g2)
		clear(gb2)
		for _, idx := range order[start:end] {
			x := xs[idx]
			m.forward(x, h, p)
			p[ys[idx]] -= 1 // d(loss)/d(logits) of softmax cross-entropy
			clear(dh)
			for k := 0; k < classes; k++ {
				gb2[k] += p[k]
				for j := 0; j < m.hidden; j++ {
					g2[k*m.hidden+j] += p[k] * h[j]
					dh[j] += p[k] * m.w2[k*m.hidden+j]
				}
			}
			for j := 0; j < m.hidden; j++ {
				if h[j] <= 0 {
					continue
				}
				gb1[j] += dh[j]
				for i, xi := range x {
					g1[j*inputs+i] += dh[j] * xi
				}
			}
		}
		scale := lr / float32(end-start)
		step := func(w, v, g []float32) {
			for i := range w {
				v[i] = momentum*v[i] - scale*g[i]
				w[i] += v[i]
			}
		}
		step(m.w1, m.v1, g1)
		step(m.b1, m.c1, gb1)
		step(m.w2, m.v2, g2)
		step(m.b2, m.c2, gb2)
	}
}

func (m *mlp) accuracy(xs [][]float32, ys []int) float64 {
	h, p := make([]float32, m.hidden), make([]float32, classes)
	right := 0
	for i, x := range xs {
		m.forward(x, h, p)
		best := 0
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		if best == ys[i] {
			right++
		}
	}
	return float64(right) / float64(len(xs))
}

// write stores the network as ONNX (opset 13): Gemm, Relu, Gemm, Softmax
// for the probabilities and ArgMax for the label, with a symbolic batch.
func write(dir string, m *mlp, teX [][]float32, teY []int) error {
	w1, err := tensor.FromSlice(m.w1, m.hidden, inputs)
	if err != nil {
		return err
	}
	b1, _ := tensor.FromSlice(m.b1, m.hidden)
	w2, _ := tensor.FromSlice(m.w2, classes, m.hidden)
	b2, _ := tensor.FromSlice(m.b2, classes)
	ints := func(v int64) ops.Attr { return ops.Attr{Type: ops.AttrInt, Int: v} }
	g := &graph.Graph{
		Name: "digits_mlp",
		Inputs: []*graph.ValueInfo{{Name: "pixels", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, inputs}),
			DimParams: []string{"batch", ""}}},
		Outputs: []*graph.ValueInfo{
			{Name: "label", Type: ops.TensorType(tensor.Int64, tensor.Shape{-1}), DimParams: []string{"batch"}},
			{Name: "probabilities", Type: ops.TensorType(tensor.Float32, tensor.Shape{-1, classes}), DimParams: []string{"batch", ""}},
		},
		Initializers: map[string]*tensor.Tensor{"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2},
		Nodes: []*graph.Node{
			{Name: "fc1", OpType: "Gemm", Inputs: []string{"pixels", "fc1.weight", "fc1.bias"}, Outputs: []string{"h1"},
				Attrs: map[string]ops.Attr{"transB": ints(1)}},
			{Name: "relu1", OpType: "Relu", Inputs: []string{"h1"}, Outputs: []string{"a1"}},
			{Name: "fc2", OpType: "Gemm", Inputs: []string{"a1", "fc2.weight", "fc2.bias"}, Outputs: []string{"logits"},
				Attrs: map[string]ops.Attr{"transB": ints(1)}},
			{Name: "softmax", OpType: "Softmax", Inputs: []string{"logits"}, Outputs: []string{"probabilities"},
				Attrs: map[string]ops.Attr{"axis": ints(1)}},
			{Name: "argmax", OpType: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"label"},
				Attrs: map[string]ops.Attr{"axis": ints(1), "keepdims": ints(0)}},
		},
	}
	model := &graph.Model{Graph: g, Opsets: map[string]int{"": 13}, ProducerName: "gocann-sample-train",
		Metadata: map[string]string{"dataset": "UCI optical recognition of handwritten digits (scikit-learn digits)",
			"input": "8x8 images, pixel values scaled from 0..16 to 0..1, flattened row-major"}}
	if err := onnx.WriteModelFile(filepath.Join(dir, "digits.onnx"), model); err != nil {
		return err
	}
	flat := make([]float32, 0, len(teX)*inputs)
	labels := make([]int64, len(teY))
	for i, x := range teX {
		flat = append(flat, x...)
		labels[i] = int64(teY[i])
	}
	x, err := tensor.FromSlice(flat, len(teX), inputs)
	if err != nil {
		return err
	}
	y, _ := tensor.FromSlice(labels, len(teY))
	if err := onnx.WriteTensorFile(filepath.Join(dir, "test_x.pb"), "pixels", x); err != nil {
		return err
	}
	return onnx.WriteTensorFile(filepath.Join(dir, "test_y.pb"), "label", y)
}
