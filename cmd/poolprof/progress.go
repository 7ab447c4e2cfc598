package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progressMinSize is the trace size from which a progress line is worth
// showing: smaller files are read in well under a second.
const progressMinSize = 64 << 20

// progress draws a one-line progress bar on stderr while a large trace is
// read, only when stderr is a terminal, so logs and pipes stay clean.
type progress struct {
	w       io.Writer
	name    string
	total   int64
	enabled bool
	start   time.Time
	last    time.Time
}

func newProgress(stderr io.Writer, name string, total int64) *progress {
	p := &progress{w: stderr, name: name, total: total, start: time.Now()}
	if f, ok := stderr.(*os.File); ok && total >= progressMinSize {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

// update redraws the line at most ten times a second.
func (p *progress) update(done int64) {
	if !p.enabled || p.total <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac := min(float64(done)/float64(p.total), 1)
	const width = 30
	bar := make([]byte, width)
	for i := range bar {
		if float64(i) < frac*width {
			bar[i] = '='
		} else {
			bar[i] = ' '
		}
	}
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3) / 1e6
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s/%s %.0f MB/s ", p.name, bar, frac*100, mb(done), mb(p.total), rate)
}

// finish clears the line.
func (p *progress) finish() {
	if p.enabled && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
