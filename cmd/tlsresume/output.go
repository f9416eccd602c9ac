package main

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/tlsresume/tlsresume/flows"
)

// output writes events as NDJSON, or collects them for the text report.
type output struct {
	w      *bufio.Writer
	enc    *json.Encoder
	format string
	err    error
	// flushEach writes every event out at once (live capture), so that a
	// pipe to jq sees it as soon as it is known.
	flushEach bool

	conns                                 []*flows.Conn // text report only
	sessions                              []*flows.Session
	byMethod                              map[string]int
	servers                               servers
	full, resumed, unknown, rejected, tls int
}

func newOutput(w io.Writer, format string) *output {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &output{w: bw, enc: enc, format: format, byMethod: map[string]int{flows.BySessionID: 0, flows.ByTicket: 0, flows.ByPSK: 0}}
}

func (o *output) write(v any) {
	if o.err == nil {
		o.err = o.enc.Encode(v)
	}
	if o.err == nil && o.flushEach {
		o.err = o.w.Flush()
	}
}

func (o *output) conn(c *flows.Conn) {
	o.tls++
	switch c.Handshake {
	case flows.Full:
		o.full++
	case flows.Resumed:
		o.resumed++
		if c.Resumption != nil {
			o.byMethod[*c.Resumption]++
		}
	default:
		o.unknown++
	}
	if c.Rejected {
		o.rejected++
	}
	o.servers.add(c)
	if o.format == "text" {
		o.conns = append(o.conns, c)
		return
	}
	o.write(c)
}

func (o *output) session(s *flows.Session) {
	if o.format == "text" {
		o.sessions = append(o.sessions, s)
		return
	}
	o.write(s)
}

func (o *output) summary(s *summary) {
	if o.format == "text" {
		o.err = writeText(o.w, s, o.conns, o.sessions)
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
