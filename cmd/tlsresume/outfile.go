package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// outFile is the -o file. It is created (or truncated) as tcpdump -w
// does; Reopen (SIGHUP) opens the name again, for logrotate: after a
// rename the new name is created, and if the file is still there it is
// appended to, so that a SIGHUP without a rotation loses nothing.
//
// A reopen takes effect only between two lines: every event (an NDJSON
// line) is written whole to one file. The output's buffer hands over
// chunks that may end inside an event; when a reopen is asked for then,
// Write finishes that event in the old file and starts the next one in
// the new file.
type outFile struct {
	name string
	warn io.Writer // for a reopen that failed

	mu       sync.Mutex
	f        *os.File
	midLine  bool // the last byte written was not a newline
	pending  bool // a reopen waits for the end of the current line
	reopened int  // how many reopens took effect, for tests
}

// createOutFile creates or truncates name, mode 0644 before the umask.
func createOutFile(name string, warn io.Writer) (*outFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", name, pathErr(err))
	}
	return &outFile{name: name, warn: warn, f: f}, nil
}

func (o *outFile) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	if o.pending && o.midLine {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return o.f.Write(p)
		}
		m, err := o.f.Write(p[:i+1])
		n += m
		if err != nil {
			return n, err
		}
		p = p[i+1:]
		o.midLine = false
	}
	if o.pending {
		o.reopen()
	}
	if len(p) == 0 {
		return n, nil
	}
	m, err := o.f.Write(p)
	n += m
	o.midLine = p[len(p)-1] != '\n'
	return n, err
}

// Reopen asks for the file to be opened again by its name: at once when
// the last write ended a line, else at the end of the line being written.
func (o *outFile) Reopen() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = true
	if !o.midLine {
		o.reopen()
	}
}

// reopen opens the name again; on failure it warns and goes on writing
// to the old file, so that nothing is lost. o.mu is held.
func (o *outFile) reopen() {
	o.pending = false
	f, err := os.OpenFile(o.name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(o.warn, "tlsresume: warning: -o %s: cannot reopen (%v): still writing to the old file\n", o.name, pathErr(err))
		return
	}
	if err := o.f.Close(); err != nil {
		fmt.Fprintf(o.warn, "tlsresume: warning: closing the old %s: %v\n", o.name, err)
	}
	o.f = f
	o.reopened++
}

// Close closes the file.
func (o *outFile) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Close()
}

// pathErr is what went wrong with a file, without the operation and name
// that *fs.PathError adds.
func pathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
