package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gocann/gocann/tensor"
)

func node(name string, ins, outs []string) *Node {
	return &Node{Name: name, OpType: "Op", Inputs: ins, Outputs: outs}
}

func vi(names ...string) []*ValueInfo {
	var out []*ValueInfo
	for _, n := range names {
		out = append(out, &ValueInfo{Name: n})
	}
	return out
}

func names(nodes []*Node) []string {
	var s []string
	for _, n := range nodes {
		s = append(s, n.Name)
	}
	return s
}

func TestSort(t *testing.T) {
	w, _ := tensor.FromSlice([]float32{1})
	tests := []struct {
		name    string
		g       *Graph
		order   []string // expected order after sorting
		wantErr string
	}{
		{
			name:  "already sorted stays",
			g:     &Graph{Inputs: vi("x"), Outputs: vi("z"), Nodes: []*Node{node("a", []string{"x"}, []string{"y"}), node("b", []string{"y"}, []string{"z"})}},
			order: []string{"a", "b"},
		},
		{
			name:  "reversed is sorted",
			g:     &Graph{Inputs: vi("x"), Outputs: vi("z"), Nodes: []*Node{node("b", []string{"y"}, []string{"z"}), node("a", []string{"x"}, []string{"y"})}},
			order: []string{"a", "b"},
		},
		{
			name:  "initializer and omitted optional input",
			g:     &Graph{Inputs: vi("x"), Outputs: vi("y"), Initializers: map[string]*tensor.Tensor{"w": w}, Nodes: []*Node{node("a", []string{"x", "", "w"}, []string{"y"})}},
			order: []string{"a"},
		},
		{
			name:    "dangling edge",
			g:       &Graph{Inputs: vi("x"), Outputs: vi("y"), Nodes: []*Node{node("a", []string{"nope"}, []string{"y"})}},
			wantErr: `reads "nope", which nothing produces`,
		},
		{
			name:    "cycle",
			g:       &Graph{Inputs: vi("x"), Outputs: vi("z"), Nodes: []*Node{node("a", []string{"x", "z"}, []string{"y"}), node("b", []string{"y"}, []string{"z"})}},
			wantErr: "cycle",
		},
		{
			name:    "self loop",
			g:       &Graph{Outputs: vi("y"), Nodes: []*Node{node("a", []string{"y"}, []string{"y"})}},
			wantErr: "reads its own output",
		},
		{
			name:    "produced twice",
			g:       &Graph{Inputs: vi("x"), Outputs: vi("y"), Nodes: []*Node{node("a", []string{"x"}, []string{"y"}), node("b", []string{"x"}, []string{"y"})}},
			wantErr: "produced twice",
		},
		{
			name:    "overwrites an input",
			g:       &Graph{Inputs: vi("x"), Outputs: vi("x"), Nodes: []*Node{node("a", []string{"x"}, []string{"x"})}},
			wantErr: "produced twice",
		},
		{
			name:    "missing output",
			g:       &Graph{Inputs: vi("x"), Outputs: vi("q"), Nodes: []*Node{node("a", []string{"x"}, []string{"y"})}},
			wantErr: `output "q" is never produced`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Sort(nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidGraph) {
					t.Fatalf("err = %v, want one containing %q wrapping ErrInvalidGraph", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(tt.g.Nodes); !slices.Equal(got, tt.order) {
				t.Errorf("order %v, want %v", got, tt.order)
			}
		})
	}
}

// A node whose body reads an outer value must run after that value's
// producer, and a body reading a value nobody defines is an error.
func TestSortSubgraphScope(t *testing.T) {
	body := &Graph{Name: "body", Outputs: vi("out"), Nodes: []*Node{node("inner", []string{"outer_y"}, []string{"out"})}}
	ifNode := &Node{Name: "if", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"r"}, Graphs: map[string]*Graph{"then_branch": body}}
	g := &Graph{Inputs: vi("cond", "x"), Outputs: vi("r"), Nodes: []*Node{ifNode, node("make_y", []string{"x"}, []string{"outer_y"})}}
	if err := g.Sort(nil); err != nil {
		t.Fatal(err)
	}
	if got := names(g.Nodes); !slices.Equal(got, []string{"make_y", "if"}) {
		t.Errorf("order %v: the If must follow the producer of what its body reads", got)
	}
	if free := body.FreeValues(); !slices.Equal(free, []string{"outer_y"}) {
		t.Errorf("FreeValues = %v", free)
	}

	bad := &Graph{Name: "body", Outputs: vi("out"), Nodes: []*Node{node("inner", []string{"ghost"}, []string{"out"})}}
	g2 := &Graph{Inputs: vi("cond"), Outputs: vi("r"), Nodes: []*Node{{Name: "if", OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"r"}, Graphs: map[string]*Graph{"else_branch": bad}}}}
	if err := g2.Sort(nil); err == nil || !errors.Is(err, ErrInvalidGraph) {
		t.Errorf("undefined outer value: err = %v", err)
	}
}
