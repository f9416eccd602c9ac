package keylog

import (
	"bytes"
	"errors"
	"io"
)

// splitter cuts a byte stream into lines and feeds them to a Store. It
// buffers at most one partial line of MaxLineLen+1 bytes (the +1 for a
// CR); a longer line is dropped as it streams by.
type splitter struct {
	partial  []byte
	skipping bool  // the current line is too long and is being dropped
	comment  bool  // the line being dropped is a comment
	line     int64 // lines completed so far in this input
}

func (sp *splitter) reset() { *sp = splitter{partial: sp.partial[:0]} }

// firstIsHash reports whether the first non-space byte of a then b is '#'.
func firstIsHash(a, b []byte) bool {
	for _, p := range [2][]byte{a, b} {
		for _, c := range p {
			if !isSpace(c) {
				return c == '#'
			}
		}
	}
	return false
}

// write feeds p; complete lines are parsed, a trailing partial line waits.
func (sp *splitter) write(s *Store, p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			sp.hold(p)
			return
		}
		switch {
		case sp.skipping:
			sp.finishSkipped(s)
		case len(sp.partial) > 0:
			sp.hold(p[:i])
			if sp.skipping {
				sp.finishSkipped(s)
			} else {
				sp.parse(s, sp.partial)
				sp.partial = sp.partial[:0]
			}
		case i > MaxLineLen+1:
			sp.skipping, sp.comment = true, firstIsHash(p[:i], nil)
			sp.finishSkipped(s)
		default:
			sp.parse(s, p[:i])
		}
		p = p[i+1:]
	}
}

// hold appends part of a line to the partial buffer, or starts dropping
// the line once it is over the bound.
func (sp *splitter) hold(p []byte) {
	if sp.skipping {
		return
	}
	if len(sp.partial)+len(p) > MaxLineLen+1 {
		sp.skipping, sp.comment = true, firstIsHash(sp.partial, p)
		sp.partial = sp.partial[:0]
		return
	}
	sp.partial = append(sp.partial, p...)
}

func (sp *splitter) finishSkipped(s *Store) {
	sp.line++
	s.stats.Lines++
	if !sp.comment {
		sp.malformed(s)
	}
	sp.skipping, sp.comment = false, false
}

// end parses a last line that has no LF (end of a file or a DSB).
func (sp *splitter) end(s *Store) {
	if sp.skipping {
		sp.finishSkipped(s)
	} else if len(sp.partial) > 0 {
		sp.parse(s, sp.partial)
	}
	sp.partial = sp.partial[:0]
}

func (sp *splitter) malformed(s *Store) {
	s.stats.Malformed++
	if s.stats.FirstMalformedLine == 0 {
		s.stats.FirstMalformedLine = sp.line
	}
}

func (sp *splitter) parse(s *Store, line []byte) {
	sp.line++
	s.stats.Lines++
	e, ok, err := ParseLine(line)
	switch {
	case errors.Is(err, ErrUnknownLabel):
		s.stats.Unknown++
	case err != nil:
		sp.malformed(s)
	case ok:
		s.Add(&e)
	}
}

// ReadFrom reads key log lines from r until io.EOF, keeping what it can
// and counting the rest (see Stats). It holds one line at a time, never
// the whole input. A last line without a line ending is read too. The
// error is r's, other than io.EOF; lines read before it are kept.
func (s *Store) ReadFrom(r io.Reader) (int64, error) {
	var sp splitter
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		sp.write(s, buf[:n])
		if err == io.EOF {
			sp.end(s)
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
