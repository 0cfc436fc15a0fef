package standard

import (
	"math"
	"strings"
	"unicode"

	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// Text: StringNormalizer and TfIdfVectorizer.

func reduceTextOps() []def {
	return []def{
		{name: "StringNormalizer", since: []int{10}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: reducePrepareStringNormalizer, doc: "removes stop words and changes the case of strings"},
		{name: "TfIdfVectorizer", since: []int{9}, inputs: [2]int{1, 1}, outputs: [2]int{1, 1},
			prepare: reducePrepareTfIdf, doc: "counts n-grams (with skips) from a pool: TF, IDF or TF-IDF"},
	}
}

// reduceCaser maps case for a locale: Turkish and Azeri dotted and dotless
// i need their own rules; every other locale uses Unicode's defaults.
type reduceCaser struct{ special unicode.SpecialCase }

func reduceNewCaser(locale string) reduceCaser {
	l := strings.ToLower(locale)
	if strings.HasPrefix(l, "tr") || strings.HasPrefix(l, "az") {
		return reduceCaser{unicode.TurkishCase}
	}
	return reduceCaser{}
}

func (c reduceCaser) lower(s string) string {
	if c.special != nil {
		return strings.ToLowerSpecial(c.special, s)
	}
	return strings.ToLower(s)
}

func (c reduceCaser) upper(s string) string {
	if c.special != nil {
		return strings.ToUpperSpecial(c.special, s)
	}
	return strings.ToUpper(s)
}

func reducePrepareStringNormalizer(n *ops.Node) (*ops.Plan, error) {
	a := n.Attrs
	action := a.String("case_change_action", "NONE")
	sensitive := a.Int("is_case_sensitive", 0) != 0
	stop := a.Strings("stopwords", nil)
	locale := a.String("locale", "")
	if err := a.Err(); err != nil {
		return nil, err
	}
	if action != "NONE" && action != "LOWER" && action != "UPPER" {
		return nil, n.Errorf("case_change_action %q: want NONE, LOWER or UPPER", action)
	}
	if err := checkType(n, 0, []tensor.DType{tensor.String}); err != nil {
		return nil, err
	}
	x := n.Inputs[0]
	if x.UnknownRank || len(x.Shape) < 1 || len(x.Shape) > 2 || (len(x.Shape) == 2 && x.Shape[0] != 1) {
		return nil, n.Errorf("input must be [C] or [1, C], got %s", x)
	}
	caser := reduceNewCaser(locale)
	stopSet := map[string]bool{}
	for _, w := range stop {
		if !sensitive {
			w = caser.lower(w)
		}
		stopSet[w] = true
	}
	rank := len(x.Shape)
	outShape := tensor.Shape{-1}
	if rank == 2 {
		outShape = tensor.Shape{1, -1}
	}
	k := func(env *ops.Env, in, out []*tensor.Tensor) error {
		words, err := in[0].Strings()
		if err != nil {
			return err
		}
		kept := make([]string, 0, len(words))
		for _, w := range words {
			key := w
			if !sensitive {
				key = caser.lower(w)
			}
			if stopSet[key] {
				continue
			}
			switch action {
			case "LOWER":
				w = caser.lower(w)
			case "UPPER":
				w = caser.upper(w)
			}
			kept = append(kept, w)
		}
		// With every word removed the output holds one empty string, as in
		// ONNX Runtime.
		if len(kept) == 0 {
			kept = []string{""}
		}
		shape := tensor.Shape{len(kept)}
		if rank == 2 {
			shape = tensor.Shape{1, len(kept)}
		}
		y, err := env.Output(out, 0, tensor.String, shape)
		if err != nil {
			return err
		}
		o, err := tensor.View[string](y)
		if err != nil {
			return err
		}
		copy(o, kept)
		return nil
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.String, outShape)}, Kernel: k}, nil
}

// reduceTfIdfNode is a trie over the pool's n-grams: id is the n-gram's number
// in the pool plus one where an n-gram ends here, 0 where only longer ones
// do.
type reduceTfIdfNode[K comparable] struct {
	id   int
	next map[K]*reduceTfIdfNode[K]
}

func (t *reduceTfIdfNode[K]) child(k K) *reduceTfIdfNode[K] {
	c := t.next[k]
	if c == nil {
		if t.next == nil {
			t.next = map[K]*reduceTfIdfNode[K]{}
		}
		c = &reduceTfIdfNode[K]{}
		t.next[k] = c
	}
	return c
}

// reduceTfIdfSpec is a prepared TfIdfVectorizer.
type reduceTfIdfSpec struct {
	minGram, maxGram, maxSkip int
	mode                      string
	cols                      int
	column                    []int     // per pool n-gram: its output column
	weight                    []float64 // per pool n-gram
}

func reducePrepareTfIdf(n *ops.Node) (*ops.Plan, error) {
	a := n.Attrs
	a.Require("max_gram_length", "min_gram_length", "max_skip_count", "mode", "ngram_counts", "ngram_indexes")
	s := &reduceTfIdfSpec{}
	maxGram := a.Int("max_gram_length", 0)
	minGram := a.Int("min_gram_length", 0)
	maxSkip := a.Int("max_skip_count", 0)
	s.mode = a.String("mode", "")
	counts := a.Ints("ngram_counts", nil)
	indexes := a.Ints("ngram_indexes", nil)
	poolInts := a.Ints("pool_int64s", nil)
	poolStrs := a.Strings("pool_strings", nil)
	weights := a.Floats("weights", nil)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if s.mode != "TF" && s.mode != "IDF" && s.mode != "TFIDF" {
		return nil, n.Errorf("mode %q: want TF, IDF or TFIDF", s.mode)
	}
	if minGram < 1 || maxGram < minGram || maxGram > 1<<20 || maxSkip < 0 || maxSkip > 1<<20 {
		return nil, n.Errorf("gram lengths [%d, %d] and max_skip_count %d are invalid", minGram, maxGram, maxSkip)
	}
	s.minGram, s.maxGram, s.maxSkip = int(minGram), int(maxGram), int(maxSkip)
	if (poolInts == nil) == (poolStrs == nil) {
		return nil, n.Errorf("exactly one of pool_int64s and pool_strings is required")
	}
	poolLen := len(poolInts) + len(poolStrs)
	// Split the pool into n-grams: ngram_counts[i] is where the
	// (i+1)-grams start.
	var grams [][2]int // start, length
	for i, start := range counts {
		end := int64(poolLen)
		if i+1 < len(counts) {
			end = counts[i+1]
		}
		size := int64(i + 1)
		if start < 0 || end < start || end > int64(poolLen) || (end-start)%size != 0 {
			return nil, n.Errorf("ngram_counts %v do not split a pool of %d items into %d-grams", counts, poolLen, size)
		}
		for p := start; p < end; p += size {
			grams = append(grams, [2]int{int(p), int(size)})
		}
	}
	if len(grams) != len(indexes) {
		return nil, n.Errorf("%d n-grams in the pool but %d ngram_indexes", len(grams), len(indexes))
	}
	if weights != nil && len(weights) != len(indexes) {
		return nil, n.Errorf("%d weights for %d n-grams", len(weights), len(indexes))
	}
	for _, ix := range indexes {
		if ix < 0 || ix > math.MaxInt32 {
			return nil, n.Errorf("ngram index %d out of range", ix)
		}
		s.cols = max(s.cols, int(ix)+1)
	}
	// Counts are kept per pool n-gram, so nothing is sized by the
	// (attribute-controlled) number of columns before the output is.
	s.column = make([]int, len(indexes))
	s.weight = make([]float64, len(indexes))
	for g, ix := range indexes {
		s.column[g] = int(ix)
		s.weight[g] = 1
		if weights != nil {
			s.weight[g] = float64(weights[g])
		}
	}
	x := n.Input(0)
	if !x.Present() || x.UnknownRank || len(x.Shape) < 1 || len(x.Shape) > 2 {
		return nil, n.Errorf("input must be [C] or [N, C], got %s", x)
	}
	outShape := tensor.Shape{s.cols}
	if len(x.Shape) == 2 {
		outShape = tensor.Shape{x.Shape[0], s.cols}
	}
	var k ops.Kernel
	switch {
	case poolStrs != nil:
		if err := checkType(n, 0, []tensor.DType{tensor.String}); err != nil {
			return nil, err
		}
		root := &reduceTfIdfNode[string]{}
		for g, gr := range grams {
			node := root
			for _, w := range poolStrs[gr[0] : gr[0]+gr[1]] {
				node = node.child(w)
			}
			node.id = g + 1
		}
		k = reduceTfIdfKernel(s, root, func(t *tensor.Tensor) ([]string, error) { return t.Strings() })
	default:
		if err := checkType(n, 0, []tensor.DType{tensor.Int32, tensor.Int64}); err != nil {
			return nil, err
		}
		root := &reduceTfIdfNode[int64]{}
		for g, gr := range grams {
			node := root
			for _, w := range poolInts[gr[0] : gr[0]+gr[1]] {
				node = node.child(w)
			}
			node.id = g + 1
		}
		k = reduceTfIdfKernel(s, root, intsOf)
	}
	return &ops.Plan{Outputs: []ops.Type{ops.TensorType(tensor.Float32, outShape)}, Kernel: k}, nil
}

func reduceTfIdfKernel[K comparable](s *reduceTfIdfSpec, root *reduceTfIdfNode[K], read func(*tensor.Tensor) ([]K, error)) ops.Kernel {
	return func(env *ops.Env, in, out []*tensor.Tensor) error {
		toks, err := read(in[0])
		if err != nil {
			return err
		}
		shape := in[0].Shape()
		rows, width := 1, shape[0]
		outShape := tensor.Shape{s.cols}
		if len(shape) == 2 {
			rows, width = shape[0], shape[1]
			outShape = tensor.Shape{rows, s.cols}
		}
		y, err := env.Output(out, 0, tensor.Float32, outShape)
		if err != nil {
			return err
		}
		o, err := tensor.View[float32](y)
		if err != nil {
			return err
		}
		env.ParallelFor(rows, 1, func(lo, hi int) {
			counts := make([]int, len(s.column))
			for r := lo; r < hi; r++ {
				row := toks[r*width : (r+1)*width]
				clear(counts)
				reduceTfIdfCount(s, root, row, counts)
				dst := o[r*s.cols : (r+1)*s.cols]
				clear(dst)
				for g, cnt := range counts {
					if cnt == 0 {
						continue
					}
					switch s.mode {
					case "TF":
						dst[s.column[g]] += float32(cnt)
					case "IDF":
						dst[s.column[g]] += float32(s.weight[g])
					default:
						dst[s.column[g]] += float32(float64(cnt) * s.weight[g])
					}
				}
			}
		})
		return nil
	}
}

// reduceTfIdfCount counts the pool's n-grams in one row: for every skip
// distance (1 to max_skip_count+1) and start, it walks the trie along
// tokens that far apart. Unigrams do not depend on the skip, so they count
// in the first pass only.
func reduceTfIdfCount[K comparable](s *reduceTfIdfSpec, root *reduceTfIdfNode[K], row []K, counts []int) {
	startN := s.minGram
	for skip := 1; skip <= s.maxSkip+1; skip++ {
		for start := range row {
			if start+skip*(startN-1) >= len(row) {
				break
			}
			node := root
			for size, pos := 1, start; size <= s.maxGram && pos < len(row); size, pos = size+1, pos+skip {
				next := node.next[row[pos]]
				if next == nil {
					break
				}
				if size >= startN && next.id != 0 {
					counts[next.id-1]++
				}
				node = next
			}
		}
		if startN == 1 {
			startN++
			if startN > s.maxGram {
				break
			}
		}
	}
}
