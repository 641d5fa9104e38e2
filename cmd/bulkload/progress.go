package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress redraws one status line on a terminal until stopped. Libraries
// only count; this is the one place that renders. Off, it does nothing.
type progress struct {
	w    io.Writer
	on   bool
	line func() string

	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
	width    int
}

// startProgress renders line() every interval while on; call stop to end.
func startProgress(w io.Writer, on bool, line func() string) *progress {
	p := &progress{w: w, on: on, line: line, done: make(chan struct{})}
	if !on {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.draw()
			}
		}
	})
	return p
}

func (p *progress) draw() {
	s := fit(p.line(), termWidth(p.w))
	pad := ""
	if n := p.width - len(s); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(s)
	fmt.Fprintf(p.w, "\r%s%s", s, pad)
}

// stop draws the last state, ends the line and waits for the renderer.
func (p *progress) stop() {
	p.stopOnce.Do(func() {
		close(p.done)
		p.wg.Wait()
		if p.on {
			p.draw()
			fmt.Fprintln(p.w)
		}
	})
}

// termWidth is w's terminal width, read at each redraw (a window may be
// resized), or 0 when w is not a terminal.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			return width
		}
	}
	return 0
}

// fit cuts s to fewer than width columns (so that it never wraps), at a
// " · " between parts where one is near, else with an ellipsis.
func fit(s string, width int) string {
	r := []rune(s)
	if width <= 1 || len(r) < width {
		return s
	}
	cut := string(r[:width-1])
	if i := strings.LastIndex(cut, " · "); i > len(cut)/2 {
		return cut[:i]
	}
	return string(r[:width-2]) + "…"
}
