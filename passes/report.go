package passes

import (
	"fmt"
	"strings"
	"time"
)

// Report says what Optimize did.
type Report struct {
	Level                   int
	NodesBefore, NodesAfter int // in the whole model, subgraphs included
	Iterations              int // rounds over the passes, all levels together
	// Entries lists every run of a pass that changed the model, in order.
	Entries []Entry
	Time    time.Duration
}

// Entry is one run of one pass that changed the model.
type Entry struct {
	Pass                    string
	Level                   int
	Iteration               int
	NodesBefore, NodesAfter int
	// Notes say what was done, one line each ("folded BatchNormalization
	// "bn1" into Conv "conv1"").
	Notes []string
	Time  time.Duration
}

// maxNotes is how many notes per entry String prints.
const maxNotes = 12

// String is the report as `cann run --explain` prints it.
func (r *Report) String() string {
	if r == nil {
		return "optimization: none\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "optimization level %d: %d nodes → %d in %d round(s), %s\n", r.Level, r.NodesBefore, r.NodesAfter, r.Iterations, roundDuration(r.Time))
	for _, e := range r.Entries {
		fmt.Fprintf(&b, "  [%d] %-22s %5d → %-5d nodes  %s\n", e.Iteration, e.Pass, e.NodesBefore, e.NodesAfter, roundDuration(e.Time))
		for i, note := range e.Notes {
			if i == maxNotes {
				fmt.Fprintf(&b, "        … and %d more\n", len(e.Notes)-maxNotes)
				break
			}
			fmt.Fprintf(&b, "        %s\n", note)
		}
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
