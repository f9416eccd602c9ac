package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tlsresume/tlsresume/capture"
)

// progress prints one line on stderr, rewritten about once a second, while
// a long input is read: only when stderr is a terminal that stdout is not
// (so it never lands in the events). For regular files it gives how much
// was read and the time left.
type progress struct {
	w     io.Writer
	src   capture.Source
	out   *output
	total int64 // bytes of the input files, 0 when not known
	every time.Duration
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(stderr, stdout io.Writer, src capture.Source, out *output, files []string) *progress {
	p := &progress{src: src, out: out, start: time.Now(), every: time.Second}
	p.last = p.start
	if terminal(stderr) && !sameFile(stderr, stdout) {
		p.w = stderr
	}
	if n, ok := capture.InputSize(files); ok {
		p.total = n
	}
	return p
}

// terminal reports whether w is a character device (a terminal).
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// sameFile reports whether a and b are the same open file (the same
// terminal, say).
func sameFile(a, b io.Writer) bool {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// tick runs on the goroutine that reads the input; it reads only the
// source's counters and the output's atomic count.
func (p *progress) tick() {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	st := p.src.Stats()
	elapsed := now.Sub(p.start)
	line := fmt.Sprintf("tlsresume: %d packets, %.0f MB, %d TLS connections, %.0fs",
		st.Packets, float64(st.Bytes)/1e6, p.out.tls.Load(), elapsed.Seconds())
	if p.total > 0 && st.InputBytes > 0 {
		done := min(float64(st.InputBytes)/float64(p.total), 1)
		left := time.Duration(float64(elapsed) * (1 - done) / done).Round(time.Second)
		line += fmt.Sprintf(", %.0f%%, %s left", 100*done, left)
	}
	fmt.Fprintf(p.w, "\r%s\033[K", line)
	p.shown = true
}

// done clears the progress line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
