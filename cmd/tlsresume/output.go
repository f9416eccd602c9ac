package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"sync/atomic"

	"github.com/tlsresume/tlsresume/sessions"
)

// output writes events as NDJSON, or keeps what the text report needs:
// the largestSessions largest sessions, nothing per connection. Its conn
// and session methods run on the merger's goroutine while the input is
// read, then on the caller's.
type output struct {
	w      *bufio.Writer
	enc    *json.Encoder
	buf    []byte // a conn event, encoded by sessions.Conn.AppendJSON
	format string
	err    error
	// flushEach writes every event out at once (live capture), so that a
	// pipe to jq sees it as soon as it is known.
	flushEach bool

	// tls counts conn events; the progress line reads it from another
	// goroutine.
	tls atomic.Int64

	largest []*sessions.Session // text and HTML report only: the largest, in order of size then of ending
	ended   int
	// keepLargest keeps the largest sessions (--format text, --report).
	keepLargest bool
	// metrics, when set, counts every event (--metrics).
	metrics *metrics
}

func newOutput(w io.Writer, format string) *output {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &output{w: bw, enc: enc, format: format}
}

func (o *output) write(v any) {
	if o.err == nil {
		o.err = o.enc.Encode(v)
	}
	o.flush()
}

// flush writes the event out at once when flushEach says so.
func (o *output) flush() {
	if o.err == nil && o.flushEach {
		o.err = o.w.Flush()
	}
}

func (o *output) conn(c *sessions.Conn) {
	// Counted before it is written: a scrape never lags the events out.
	if o.metrics != nil {
		o.metrics.conn(c)
	}
	o.tls.Add(1)
	if o.format != "text" && o.err == nil {
		o.buf = append(c.AppendJSON(o.buf[:0]), '\n')
		_, o.err = o.w.Write(o.buf)
		o.flush()
	}
}

// sessionSize is how a session ranks among the largest.
func sessionSize(s *sessions.Session) int { return len(s.Conns) + len(s.RejectedConns) }

func (o *output) session(s *sessions.Session) {
	if o.metrics != nil {
		o.metrics.session(s)
	}
	if o.format != "text" {
		o.write(s)
	}
	if !o.keepLargest {
		return
	}
	// Keep the largestSessions largest; among equals, the one that ended
	// first.
	i, _ := slices.BinarySearchFunc(o.largest, s, func(x, y *sessions.Session) int {
		if c := cmp.Compare(sessionSize(y), sessionSize(x)); c != 0 {
			return c
		}
		return -1 // x ended before y: it stays ahead
	})
	if i < largestSessions {
		o.largest = slices.Insert(o.largest, i, s)
		o.largest = o.largest[:min(len(o.largest), largestSessions)]
	}
}

func (o *output) summary(s *summary) {
	if o.format == "text" {
		o.err = writeText(o.w, s, o.largest)
		return
	}
	o.write(s)
}

func (o *output) close() error {
	if err := o.w.Flush(); o.err == nil {
		o.err = err
	}
	return o.err
}
