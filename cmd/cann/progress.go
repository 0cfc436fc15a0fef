package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws one line on a terminal, redrawn in place with '\r':
// the stage and, when its size is known, a bar, a percentage and bytes.
// Redraws are rate-limited so that a fast conversion costs nothing.
type progressBar struct {
	w        io.Writer
	stage    string
	done     int64
	last     time.Time
	drawn    bool
	interval time.Duration
	width    int // of the last line, to blank it
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, interval: 100 * time.Millisecond}
}

// update is the model.WithProgress callback.
func (p *progressBar) update(stage string, done, total int64) {
	now := time.Now()
	finished := total > 0 && done >= total
	if stage == p.stage && (done == p.done || !finished && now.Sub(p.last) < p.interval) {
		return
	}
	p.stage, p.last, p.done = stage, now, done
	line := fmt.Sprintf("%-8s", stage)
	if total > 0 {
		const cells = 30
		frac := float64(done) / float64(total)
		n := int(frac * cells)
		line += fmt.Sprintf(" [%s%s] %3.0f%% %s / %s", strings.Repeat("#", n), strings.Repeat(".", cells-n), 100*frac, mb(done), mb(total))
	} else {
		line += " ..."
	}
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width, p.drawn = len(line), true
}

// finish ends the line, so that what follows starts on a fresh one.
func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// isTerminal reports whether w is a terminal (progress bars are drawn only
// there unless asked for).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}
