package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gocann/gocann/graph"
	"github.com/gocann/gocann/ops"
	"github.com/gocann/gocann/tensor"
)

// The trace is valid Chrome-trace JSON with one "X" event per launch per
// run, and the summary counts and shares them by operator type.
func TestProfilerTrace(t *testing.T) {
	m := elementwiseGraph(10, 64)
	// A node prepared on every run, so dynamic launches are profiled too.
	m.Graph.Inputs = append(m.Graph.Inputs, &graph.ValueInfo{Name: "shape", Type: ops.TensorType(tensor.Int64, tensor.Shape{2})})
	m.Graph.Nodes = append(m.Graph.Nodes, node("dyn", "Reshape", []string{"v10", "shape"}, "r"))
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.ValueInfo{Name: "r"})
	exe, err := Compile(m, Options{Ops: stdOps(t), Device: "cpu:0"})
	if err != nil {
		t.Fatal(err)
	}
	shape, _ := tensor.FromSlice([]int64{8, 8}, 2)
	in := map[string]ops.Value{"x": randomTensor(rand.New(rand.NewPCG(1, 1)), 1, 64), "shape": shape}
	// Runs without a profiler record nothing anywhere.
	if _, err := exe.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	p := NewProfiler()
	ctx := WithProfiler(context.Background(), p)
	if ProfilerFrom(ctx) != p {
		t.Fatal("ProfilerFrom does not return the profiler")
	}
	const runs = 5
	for i := 0; i < runs; i++ {
		if _, err := exe.Run(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	st := exe.MemoryPlans()[0]
	if st.Launches != 11 || st.Dynamic != 1 {
		t.Fatalf("plan %+v: want 10 kernels and 1 dynamic launch", st)
	}
	var buf bytes.Buffer
	if err := p.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	var trace struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Cat  string         `json:"cat"`
			Ph   string         `json:"ph"`
			Ts   *float64       `json:"ts"`
			Dur  *float64       `json:"dur"`
			Pid  *int           `json:"pid"`
			Tid  *int           `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &trace); err != nil {
		t.Fatalf("trace is not JSON: %v\n%s", err, buf.String())
	}
	launches, runsSeen := 0, 0
	perOp := map[string]int{}
	var last float64
	for _, ev := range trace.TraceEvents {
		if ev.Ph != "X" {
			continue
		}
		if ev.Ts == nil || ev.Dur == nil || ev.Pid == nil || ev.Tid == nil || *ev.Dur < 0 || *ev.Ts < 0 {
			t.Fatalf("event %+v lacks ts, dur, pid or tid", ev)
		}
		switch ev.Cat {
		case "run":
			runsSeen++
		case "launch":
			launches++
			op, _ := ev.Args["op_type"].(string)
			perOp[op]++
			if ev.Args["device"] != "cpu:0" || ev.Args["node"] == "" || ev.Args["inputs"] == nil || ev.Args["outputs"] == nil {
				t.Errorf("launch event %+v lacks node, device or shapes", ev)
			}
			if *ev.Ts < last {
				t.Errorf("launch events out of order")
			}
			last = *ev.Ts
		}
	}
	if launches != runs*st.Launches || runsSeen != runs {
		t.Errorf("%d launch and %d run events, want %d and %d", launches, runsSeen, runs*st.Launches, runs)
	}
	want := map[string]int{"Add": 2 * runs, "Mul": 2 * runs, "Relu": 2 * runs, "Sigmoid": 2 * runs, "Sub": 2 * runs, "Reshape": runs}
	for op, n := range want {
		if perOp[op] != n {
			t.Errorf("%s: %d events, want %d", op, perOp[op], n)
		}
	}
	sum := p.Summary()
	share := 0.0
	for _, s := range sum {
		if s.Count != want[s.OpType] {
			t.Errorf("summary %s: count %d, want %d", s.OpType, s.Count, want[s.OpType])
		}
		share += s.Share
	}
	if len(sum) != len(want) || math.Abs(share-1) > 1e-9 {
		t.Errorf("summary %+v: want %d op types sharing 100%%", sum, len(want))
	}
	for i := 1; i < len(sum); i++ {
		if sum[i].Total > sum[i-1].Total {
			t.Errorf("summary not sorted by time: %+v", sum)
		}
	}
	p.Reset()
	if len(p.Events()) != 0 {
		t.Error("Reset kept events")
	}
}
