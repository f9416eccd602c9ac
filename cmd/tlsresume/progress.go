package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tlsresume/tlsresume/capture"
)

// progress prints one line on stderr, rewritten about once a second, while
// a long input is read. It prints nothing unless stderr is a terminal.
type progress struct {
	w     io.Writer
	src   capture.Source
	out   *output
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(stderr io.Writer, src capture.Source, out *output) *progress {
	p := &progress{src: src, out: out, start: time.Now()}
	p.last = p.start
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.w = stderr
		}
	}
	return p
}

func (p *progress) tick() {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	st := p.src.Stats()
	fmt.Fprintf(p.w, "\rtlsresume: %d packets, %.0f MB, %d TLS connections, %.0fs ",
		st.Packets, float64(st.Bytes)/1e6, p.out.tls.Load(), now.Sub(p.start).Seconds())
	p.shown = true
}

// done clears the progress line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
