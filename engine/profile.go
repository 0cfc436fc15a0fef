package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gocann/gocann/ops"
)

// Profiler records the kernel launches of every run whose context carries
// it (WithProfiler), in the style of net/http/httptrace: nothing is
// recorded, and nothing costs more than a nil check, for runs without one.
// One Profiler may serve concurrent runs; each run's launches are on the
// stream (trace thread) of the arena it ran in. The zero Profiler is ready.
type Profiler struct {
	mu     sync.Mutex
	origin time.Time
	events []Event
}

// Event is one kernel launch (Kind "kernel", "eval" or "dynamic"), one
// copy between host and accelerator (Kind "copy", OpType "CopyToDevice" or
// "CopyToHost", Name the value) or one whole run (Kind "run"). A profiled
// run waits for each kernel on an accelerator, so that its Duration is
// the device's (launch overhead included); unprofiled runs do not wait.
type Event struct {
	Kind   string
	Name   string // node name ("" for runs)
	Domain string
	OpType string
	// Inputs and Outputs are the operands' types: "float32[1 64 56 56]".
	Inputs, Outputs []string
	Device          string
	Stream          int // the arena the run used: runs at the same time differ
	Start           time.Time
	Duration        time.Duration
}

// NewProfiler returns a profiler whose trace starts now.
func NewProfiler() *Profiler { return &Profiler{origin: time.Now()} }

type profilerKey struct{}

// WithProfiler returns a context whose runs p records.
func WithProfiler(ctx context.Context, p *Profiler) context.Context {
	return context.WithValue(ctx, profilerKey{}, p)
}

// ProfilerFrom returns the profiler ctx carries, or nil.
func ProfilerFrom(ctx context.Context) *Profiler { return profilerFrom(ctx) }

func profilerFrom(ctx context.Context) *Profiler {
	p, _ := ctx.Value(profilerKey{}).(*Profiler)
	return p
}

func (p *Profiler) add(ev Event) {
	p.mu.Lock()
	if p.origin.IsZero() {
		p.origin = ev.Start
	}
	p.events = append(p.events, ev)
	p.mu.Unlock()
}

func (p *Profiler) addRun(start time.Time, d time.Duration, stream int) {
	p.add(Event{Kind: "run", OpType: "Run", Device: "", Stream: stream, Start: start, Duration: d})
}

func (p *Profiler) addLaunch(l *launch, frame []ops.Value, device string, stream int, start time.Time, d time.Duration) {
	ev := Event{Name: l.st.node.Name, Domain: l.st.node.Domain, OpType: l.st.node.OpType, Device: device,
		Stream: stream, Start: start, Duration: d, Inputs: l.inDesc, Outputs: l.outDesc}
	switch {
	case l.dev != nil: // on the accelerator, waited for (see heteroRun.device)
		ev.Kind = "kernel"
	case l.kind == launchKernel:
		ev.Kind = "kernel"
	case l.kind == launchEval:
		ev.Kind = "eval"
	default:
		ev.Kind = "dynamic"
	}
	if ev.Inputs == nil && frame != nil {
		ev.Inputs = describeValues(frame, l.in)
		ev.Outputs = describeValues(frame, l.out)
	}
	p.add(ev)
}

func describeValues(frame []ops.Value, slots []int) []string {
	d := make([]string, len(slots))
	for i, s := range slots {
		if s < 0 {
			continue
		}
		if t, err := ops.TypeOfValue(frame[s]); err == nil {
			d[i] = t.String()
		}
	}
	return d
}

// Events returns a copy of what has been recorded, in order of recording.
func (p *Profiler) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// Reset forgets what has been recorded (after warm-up runs, say).
func (p *Profiler) Reset() {
	p.mu.Lock()
	p.events = nil
	p.mu.Unlock()
}

// OpStat is the time spent in one operator type.
type OpStat struct {
	OpType string
	Count  int
	Total  time.Duration
	Mean   time.Duration
	Share  float64 // of the time of all launches, 0 to 1
}

// Summary totals the launches per operator type, most time first.
func (p *Profiler) Summary() []OpStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	idx := map[string]int{}
	var stats []OpStat
	var all time.Duration
	for _, ev := range p.events {
		if ev.Kind == "run" {
			continue
		}
		name := ev.OpType
		if d := ops.NormalizeDomain(ev.Domain); d != "" {
			name = d + "." + name
		}
		i, ok := idx[name]
		if !ok {
			i = len(stats)
			idx[name] = i
			stats = append(stats, OpStat{OpType: name})
		}
		stats[i].Count++
		stats[i].Total += ev.Duration
		all += ev.Duration
	}
	for i := range stats {
		stats[i].Mean = stats[i].Total / time.Duration(stats[i].Count)
		if all > 0 {
			stats[i].Share = float64(stats[i].Total) / float64(all)
		}
	}
	slices.SortStableFunc(stats, func(a, b OpStat) int {
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return cmp.Compare(a.OpType, b.OpType)
	})
	return stats
}

// traceEvent is one event of the Chrome trace format (also read by
// Perfetto): "X" events are complete spans, ts and dur in microseconds.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteTrace writes what has been recorded as a Chrome trace (JSON object
// format), which chrome://tracing and ui.perfetto.dev open: one "X" event
// per launch (category "launch") and per run (category "run"), on one
// thread per stream.
func (p *Profiler) WriteTrace(w io.Writer) error {
	evs := p.Events()
	p.mu.Lock()
	origin := p.origin
	p.mu.Unlock()
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	out := struct {
		TraceEvents     []traceEvent `json:"traceEvents"`
		DisplayTimeUnit string       `json:"displayTimeUnit"`
	}{TraceEvents: make([]traceEvent, 0, len(evs)+4), DisplayTimeUnit: "ms"}
	out.TraceEvents = append(out.TraceEvents, traceEvent{Name: "process_name", Ph: "M", Pid: 1, Args: map[string]any{"name": "gocann"}})
	streams := map[int]bool{}
	for _, ev := range evs {
		if !streams[ev.Stream] {
			streams[ev.Stream] = true
			out.TraceEvents = append(out.TraceEvents, traceEvent{Name: "thread_name", Ph: "M", Pid: 1, Tid: ev.Stream,
				Args: map[string]any{"name": fmt.Sprintf("stream %d", ev.Stream)}})
		}
		te := traceEvent{Ph: "X", Pid: 1, Tid: ev.Stream, Ts: us(ev.Start.Sub(origin)), Dur: us(ev.Duration)}
		if ev.Kind == "run" {
			te.Name, te.Cat = "Run", "run"
		} else {
			te.Name, te.Cat = ev.OpType, "launch"
			if ev.Name != "" {
				te.Name = ev.OpType + " " + ev.Name
			}
			te.Args = map[string]any{"node": ev.Name, "op_type": ev.OpType, "kind": ev.Kind, "device": ev.Device,
				"stream": ev.Stream, "inputs": ev.Inputs, "outputs": ev.Outputs}
			if ev.Domain != "" {
				te.Args["domain"] = ev.Domain
			}
		}
		out.TraceEvents = append(out.TraceEvents, te)
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}
