package onnx

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gocann/gocann/onnx/internal/onnxpb"
	"github.com/gocann/gocann/tensor"
)

// onnxTestData is the ONNX backend test suite as Debian's libonnx-testdata
// installs it (ONNX 1.12). Its .pb files were written by ONNX's Python
// tooling, not by us, which makes them the reference for the decoder.
const onnxTestData = "/usr/share/libonnx-testdata/data"

// testDataSuites are the suites that hold test_data_set_N directories.
var testDataSuites = []string{"node", "pytorch-converted", "pytorch-operator", "simple", "real"}

// testDataFile is one input_K.pb or output_K.pb with the type the model
// declares for it, which tells what message the file holds: ONNX's own test
// runner reads a TensorProto, SequenceProto, OptionalProto or MapProto
// according to the graph's input or output type.
type testDataFile struct {
	path string
	typ  *onnxpb.TypeProto // nil when the model has no such input or output
}

func testDataFiles(t *testing.T) []testDataFile {
	t.Helper()
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("ONNX test data not installed (apt-get install libonnx-testdata): %v", err)
	}
	var files []testDataFile
	for _, suite := range testDataSuites {
		sets, err := filepath.Glob(filepath.Join(onnxTestData, suite, "*", "test_data_set_*"))
		if err != nil {
			t.Fatal(err)
		}
		models := map[string]*onnxpb.ModelProto{}
		for _, set := range sets {
			modelPath := filepath.Join(filepath.Dir(set), "model.onnx")
			m, ok := models[modelPath]
			if !ok {
				b, err := os.ReadFile(modelPath)
				if err != nil {
					t.Fatalf("%s: %v", modelPath, err)
				}
				m = &onnxpb.ModelProto{}
				if err := proto.Unmarshal(b, m); err != nil {
					t.Fatalf("%s: %v", modelPath, err)
				}
				models[modelPath] = m
			}
			pbs, err := filepath.Glob(filepath.Join(set, "*.pb"))
			if err != nil {
				t.Fatal(err)
			}
			for _, pb := range pbs {
				f := testDataFile{path: pb}
				base := strings.TrimSuffix(filepath.Base(pb), ".pb")
				var values []*onnxpb.ValueInfoProto
				var idx string
				switch {
				case strings.HasPrefix(base, "input_"):
					values, idx = m.GetGraph().GetInput(), strings.TrimPrefix(base, "input_")
				case strings.HasPrefix(base, "output_"):
					values, idx = m.GetGraph().GetOutput(), strings.TrimPrefix(base, "output_")
				default:
					t.Fatalf("%s: unexpected file name", pb)
				}
				k, err := strconv.Atoi(idx)
				if err != nil {
					t.Fatalf("%s: %v", pb, err)
				}
				if k < len(values) {
					f.typ = values[k].GetType()
				}
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Fatalf("no test_data_set_*/*.pb files under %s", onnxTestData)
	}
	return files
}

// TestTestDataDecodes decodes every .pb file of the ONNX backend test data,
// checks the result against the type and shape the model declares, and
// checks that encoding it and decoding again gives the same tensor.
func TestTestDataDecodes(t *testing.T) {
	files := testDataFiles(t)
	var (
		byDType    = map[string]int{}
		byStorage  = map[string]int{}
		byKind     = map[string]int{}
		shapeNotes []string
		typeNotes  []string
		tensors    int
	)
	for _, f := range files {
		rel, _ := filepath.Rel(onnxTestData, f.path)
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		check := func(name string, tn *tensor.Tensor, p *onnxpb.TensorProto, declared *onnxpb.TypeProto_Tensor) {
			tensors++
			byDType[tn.DType().String()]++
			byStorage[storageForm(p)]++
			if declared != nil {
				switch want := tensor.DType(declared.GetElemType()); {
				case tn.DType() == want:
				case tn.DType() == tensor.Uint16 && want == tensor.BFloat16:
					// ONNX 1.12's generator had no bfloat16 in NumPy
					// and wrote these tensors' bits as UINT16.
					typeNotes = append(typeNotes, rel)
				default:
					t.Errorf("%s: dtype %s, model declares %s", rel, tn.DType(), want)
				}
				if note := compareDeclaredShape(tn.Shape(), declared.GetShape()); note != "" {
					shapeNotes = append(shapeNotes, rel+": "+note)
				}
			}
			roundTrip(t, rel, name, tn)
		}
		switch {
		case f.typ == nil || f.typ.GetTensorType() != nil:
			byKind["tensor"]++
			name, tn, err := ReadTensorFile(f.path)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			var p onnxpb.TensorProto
			if err := proto.Unmarshal(b, &p); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if name != p.GetName() {
				t.Errorf("%s: name %q, want %q", rel, name, p.GetName())
			}
			check(name, tn, &p, f.typ.GetTensorType())
		case f.typ.GetSequenceType() != nil, f.typ.GetOptionalType() != nil, f.typ.GetMapType() != nil:
			// Not TensorProtos, but they are made of TensorProtos
			// (onnx-data.proto), which must decode too.
			kind := "sequence"
			switch {
			case f.typ.GetOptionalType() != nil:
				kind = "optional"
			case f.typ.GetMapType() != nil:
				kind = "map"
			}
			byKind[kind]++
			err := walkContainer(kind, b, func(tb []byte) error {
				name, tn, err := DecodeTensor(tb)
				if err != nil {
					return err
				}
				var p onnxpb.TensorProto
				if err := proto.Unmarshal(tb, &p); err != nil {
					return err
				}
				check(name, tn, &p, nil)
				return nil
			})
			if err != nil {
				t.Errorf("%s (%s): %v", rel, kind, err)
			}
		default:
			t.Errorf("%s: model declares an unexpected type %v", rel, f.typ)
		}
	}
	t.Logf("%d files (%v), %d tensors", len(files), fmtCounts(byKind), tensors)
	t.Logf("by dtype: %s", fmtCounts(byDType))
	t.Logf("by storage: %s", fmtCounts(byStorage))
	for _, n := range typeNotes {
		t.Logf("uint16 where the model declares bfloat16: %s", n)
	}
	for _, n := range shapeNotes {
		t.Logf("shape differs from the model's declaration: %s", n)
	}
}

// compareDeclaredShape reports a difference between a decoded shape and the
// model's declared one, where the declaration gives fixed sizes. Test data
// may legitimately differ (a model declaring fewer dims is sloppy, not
// wrong), so differences are logged, not failed.
func compareDeclaredShape(got tensor.Shape, declared *onnxpb.TensorShapeProto) string {
	if declared == nil {
		return ""
	}
	dims := declared.GetDim()
	if len(dims) != len(got) {
		return fmt.Sprintf("rank %d %v, declared rank %d", len(got), got, len(dims))
	}
	for i, d := range dims {
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && int64(got[i]) != v.DimValue {
			return fmt.Sprintf("shape %v, declared dim %d = %d", got, i, v.DimValue)
		}
	}
	return ""
}

// walkContainer calls fn on every TensorProto inside a SequenceProto,
// OptionalProto or MapProto. Those messages are in onnx-data.proto, which we
// do not compile; their field numbers are stable since ONNX 1.10:
//
//	SequenceProto: 3 tensor_values, 4 sparse_tensor_values, 5 sequence_values, 6 map_values, 7 optional_values
//	OptionalProto: 3 tensor_value, 4 sparse_tensor_value, 5 sequence_value, 6 map_value, 7 optional_value
//	MapProto:      5 values (a SequenceProto)
func walkContainer(kind string, b []byte, fn func([]byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return protowire.ParseError(m)
		}
		val := b[:m]
		b = b[m:]
		if typ != protowire.BytesType {
			continue
		}
		payload, _ := protowire.ConsumeBytes(val)
		var err error
		switch {
		case kind == "map" && num == 5:
			err = walkContainer("sequence", payload, fn)
		case kind == "map":
		case num == 3:
			err = fn(payload)
		case num == 4:
			err = fmt.Errorf("sparse tensor in %s", kind)
		case num == 5:
			err = walkContainer("sequence", payload, fn)
		case num == 6:
			err = walkContainer("map", payload, fn)
		case num == 7:
			err = walkContainer("optional", payload, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storageForm names where a TensorProto keeps its data, for the summary.
func storageForm(p *onnxpb.TensorProto) string {
	switch {
	case p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL:
		return "external"
	case p.RawData != nil:
		return "raw_data"
	case len(p.FloatData) > 0:
		return "float_data"
	case len(p.Int32Data) > 0:
		return "int32_data"
	case len(p.StringData) > 0:
		return "string_data"
	case len(p.Int64Data) > 0:
		return "int64_data"
	case len(p.DoubleData) > 0:
		return "double_data"
	case len(p.Uint64Data) > 0:
		return "uint64_data"
	}
	return "empty"
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s %d", k, m[k])
	}
	return sb.String()
}

// roundTrip encodes tn, decodes the result and checks that name, type,
// shape and contents survive exactly. Contents are compared as bytes, so
// NaNs (whose bits must be kept) compare equal to themselves.
func roundTrip(t *testing.T, what, name string, tn *tensor.Tensor) {
	t.Helper()
	b, err := EncodeTensor(name, tn)
	if err != nil {
		t.Errorf("%s: encode: %v", what, err)
		return
	}
	name2, tn2, err := DecodeTensor(b)
	if err != nil {
		t.Errorf("%s: decode after encode: %v", what, err)
		return
	}
	if name2 != name {
		t.Errorf("%s: round trip name %q, want %q", what, name2, name)
	}
	if err := sameTensor(tn2, tn); err != nil {
		t.Errorf("%s: round trip: %v", what, err)
	}
}

// sameTensor compares type, shape and element bits.
func sameTensor(got, want *tensor.Tensor) error {
	if got.DType() != want.DType() {
		return fmt.Errorf("dtype %s, want %s", got.DType(), want.DType())
	}
	if !slices.Equal(got.Shape(), want.Shape()) {
		return fmt.Errorf("shape %v, want %v", got.Shape(), want.Shape())
	}
	if got.DType() == tensor.String {
		gs, err1 := got.Strings()
		ws, err2 := want.Strings()
		if err1 != nil || err2 != nil {
			return fmt.Errorf("strings: %v, %v", err1, err2)
		}
		if !slices.Equal(gs, ws) {
			return fmt.Errorf("strings %q, want %q", gs, ws)
		}
		return nil
	}
	gb, ok1 := got.HostBytes()
	wb, ok2 := want.HostBytes()
	if !ok1 || !ok2 {
		return fmt.Errorf("not host-readable")
	}
	if !bytes.Equal(gb, wb) {
		return fmt.Errorf("element bytes differ (%d vs %d bytes)", len(gb), len(wb))
	}
	return nil
}

// TestTestDataValues checks decoded values of a few test cases against
// what the operator computes, which catches byte-order and typed-field
// mistakes that a round trip through our own encoder would not.
func TestTestDataValues(t *testing.T) {
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("ONNX test data not installed: %v", err)
	}
	read := func(rel string) *tensor.Tensor {
		t.Helper()
		_, tn, err := ReadTensorFile(filepath.Join(onnxTestData, rel))
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	// Add, float32 in raw_data: out = a + b exactly.
	a, err := tensor.ToSlice[float32](read("node/test_add/test_data_set_0/input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tensor.ToSlice[float32](read("node/test_add/test_data_set_0/input_1.pb"))
	out, _ := tensor.ToSlice[float32](read("node/test_add/test_data_set_0/output_0.pb"))
	if len(a) != 60 || len(b) != 60 || len(out) != 60 {
		t.Fatalf("test_add: lengths %d %d %d, want 60", len(a), len(b), len(out))
	}
	for i := range a {
		if a[i]+b[i] != out[i] {
			t.Fatalf("test_add[%d]: %v + %v != %v", i, a[i], b[i], out[i])
		}
	}
	// Cast float32 -> float16: out = float16(in), within float16 rounding.
	in, _ := tensor.ToSlice[float32](read("node/test_cast_FLOAT_to_FLOAT16/test_data_set_0/input_0.pb"))
	h, err := tensor.ToSlice[tensor.F16](read("node/test_cast_FLOAT_to_FLOAT16/test_data_set_0/output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != len(h) || len(in) == 0 {
		t.Fatalf("cast to float16: %d inputs, %d outputs", len(in), len(h))
	}
	for i := range in {
		x, y := float64(in[i]), float64(h[i].Float32())
		if math.IsNaN(x) != math.IsNaN(y) || (!math.IsNaN(x) && math.Abs(x-y) > math.Abs(x)/1000+1e-7 && !math.IsInf(y, 0)) {
			t.Errorf("cast to float16 [%d]: %v became %v", i, x, y)
		}
	}
	// Strings: StringNormalizer lower-cases its input.
	sin, err := read("node/test_strnormalizer_export_monday_casesensintive_lower/test_data_set_0/input_0.pb").Strings()
	if err != nil {
		t.Fatal(err)
	}
	sout, _ := read("node/test_strnormalizer_export_monday_casesensintive_lower/test_data_set_0/output_0.pb").Strings()
	t.Logf("string normalizer: %q -> %q", sin, sout)
	for _, s := range sout {
		if s != strings.ToLower(s) {
			t.Errorf("string normalizer output %q is not lower case", s)
		}
	}
}

// TestTestDataModelTensors decodes every TensorProto embedded in the test
// suite's model.onnx files: initializers, sparse initializers' values and
// indices, and tensor-valued node attributes (Constant values, in
// subgraphs and functions too). The .pb files all use raw_data and
// string_data; these were mostly written by onnx.helper.make_tensor and use
// the typed fields, so they exercise the other half of the decoder on
// data we did not write.
func TestTestDataModelTensors(t *testing.T) {
	if _, err := os.Stat(onnxTestData); err != nil {
		t.Skipf("ONNX test data not installed: %v", err)
	}
	var models []string
	for _, suite := range testDataSuites {
		m, err := filepath.Glob(filepath.Join(onnxTestData, suite, "*", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m...)
	}
	var (
		byDType   = map[string]int{}
		byStorage = map[string]int{}
		opsets    = map[string]int{}
		irs       = map[int64]int{}
		tensors   int
	)
	o := newOptions(nil)
	for _, path := range models {
		rel, _ := filepath.Rel(onnxTestData, path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m onnxpb.ModelProto
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		irs[m.GetIrVersion()]++
		for _, op := range m.GetOpsetImport() {
			d := op.GetDomain()
			if d == "" {
				d = "ai.onnx"
			}
			opsets[fmt.Sprintf("%s v%d", d, op.GetVersion())]++
		}
		forEachModelTensor(&m, func(where string, p *onnxpb.TensorProto) {
			tensors++
			byStorage[storageForm(p)]++
			tn, err := tensorFromProto(p, o)
			if err != nil {
				t.Errorf("%s: %s: %v", rel, where, err)
				return
			}
			byDType[tn.DType().String()]++
			roundTrip(t, rel+": "+where, p.GetName(), tn)
		})
	}
	t.Logf("%d models, %d embedded tensors", len(models), tensors)
	t.Logf("by dtype: %s", fmtCounts(byDType))
	t.Logf("by storage: %s", fmtCounts(byStorage))
	irCounts := map[string]int{}
	for v, n := range irs {
		irCounts[fmt.Sprintf("IR v%d", v)] = n
	}
	t.Logf("IR versions: %s", fmtCounts(irCounts))
	t.Logf("opset imports: %s", fmtCounts(opsets))
}

// forEachModelTensor calls fn on every TensorProto in m, saying where it is.
func forEachModelTensor(m *onnxpb.ModelProto, fn func(where string, p *onnxpb.TensorProto)) {
	var graph func(where string, g *onnxpb.GraphProto)
	var nodes func(where string, ns []*onnxpb.NodeProto)
	sparse := func(where string, sp *onnxpb.SparseTensorProto) {
		if v := sp.GetValues(); v != nil {
			fn(where+" values", v)
		}
		if ix := sp.GetIndices(); ix != nil {
			fn(where+" indices", ix)
		}
	}
	nodes = func(where string, ns []*onnxpb.NodeProto) {
		for _, n := range ns {
			for _, a := range n.GetAttribute() {
				w := fmt.Sprintf("%s node %q (%s) attribute %q", where, n.GetName(), n.GetOpType(), a.GetName())
				if a.GetT() != nil {
					fn(w, a.GetT())
				}
				for i, tp := range a.GetTensors() {
					fn(fmt.Sprintf("%s[%d]", w, i), tp)
				}
				if a.GetSparseTensor() != nil {
					sparse(w, a.GetSparseTensor())
				}
				for i, sp := range a.GetSparseTensors() {
					sparse(fmt.Sprintf("%s[%d]", w, i), sp)
				}
				if a.GetG() != nil {
					graph(w, a.GetG())
				}
				for i, g := range a.GetGraphs() {
					graph(fmt.Sprintf("%s[%d]", w, i), g)
				}
			}
		}
	}
	graph = func(where string, g *onnxpb.GraphProto) {
		for _, p := range g.GetInitializer() {
			fn(fmt.Sprintf("%s initializer %q", where, p.GetName()), p)
		}
		for i, sp := range g.GetSparseInitializer() {
			sparse(fmt.Sprintf("%s sparse initializer %d", where, i), sp)
		}
		nodes(where, g.GetNode())
	}
	graph("graph", m.GetGraph())
	for _, f := range m.GetFunctions() {
		nodes(fmt.Sprintf("function %q", f.GetName()), f.GetNode())
	}
}
