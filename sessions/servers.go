package sessions

import (
	"math"
	"slices"
	"sort"

	"github.com/tlsresume/tlsresume/verdict"
)

// serverKey is one row of the per-server table: a server address and the
// name clients asked it for.
type serverKey struct {
	server verdict.Endpoint
	sni    string
}

// ServerRow is one row of the per-server table in the summary. The row
// of the servers past Config.MaxServers has Other set and no server.
type ServerRow struct {
	Server             *verdict.Endpoint      `json:"server"`
	SNI                *string                `json:"sni"`
	Other              bool                   `json:"other"`
	Conns              int                    `json:"conns"`
	Full               int                    `json:"full"`
	Resumed            int                    `json:"resumed"`
	Unknown            int                    `json:"unknown"`
	ResumptionRate     *float64               `json:"resumption_rate"`
	Rejected           int                    `json:"rejected_offers"`
	ByMethod           map[verdict.Method]int `json:"by_method"`
	MedianResumeAge    *float64               `json:"median_resume_age"`
	MaxResumeAge       *float64               `json:"max_resume_age"`
	ResumedAfterHint   int                    `json:"resumed_after_lifetime_hint"`
	RejectedWithinHint int                    `json:"rejected_within_lifetime_hint"`
	TicketKeyHints     int                    `json:"ticket_key_hints"`

	ages  AgeHistogram
	hints []string // distinct ticket key hints, at most maxKeyHints

	// The row's timeline and largest ticket lifetime hint (timeline.go).
	series series
	tl     *timeline
	hint   int64
}

// maxKeyHints bounds the distinct ticket key hints counted per server: a
// stack whose tickets start with random bytes (Go) gives one per ticket.
const maxKeyHints = 64

// servers aggregates conn events per server, in at most max rows plus
// one for the rest.
type servers struct {
	max   int
	rows  map[serverKey]*ServerRow
	other *ServerRow
	tl    timeline // the time grid and the timeline of all rows together
}

func newRow() *ServerRow {
	return &ServerRow{ByMethod: map[verdict.Method]int{verdict.BySessionID: 0, verdict.ByTicket: 0, verdict.ByPSK: 0}}
}

func (s *servers) row(c *Conn) *ServerRow {
	if s.rows == nil {
		s.rows = map[serverKey]*ServerRow{}
	}
	k := serverKey{c.Server, c.SNI}
	if r := s.rows[k]; r != nil {
		return r
	}
	if len(s.rows) >= s.max {
		if s.other == nil {
			s.other = newRow()
			s.other.Other = true
		}
		return s.other
	}
	r := newRow()
	r.Server, r.SNI = ptr(c.Server), ptr(c.SNI)
	s.rows[k] = r
	return r
}

func (s *servers) add(c *Conn) {
	r := s.row(c)
	r.Conns++
	switch c.Handshake {
	case verdict.Full:
		r.Full++
	case verdict.Resumed:
		r.Resumed++
		if c.Resumption != verdict.NoMethod {
			r.ByMethod[c.Resumption]++
		}
	default:
		r.Unknown++
	}
	if c.Rejected {
		r.Rejected++
	}
	if c.resumeAge != nil {
		r.ages.Add(*c.resumeAge)
	}
	for _, n := range c.Notes {
		switch n {
		case verdict.NoteResumedAfterHint:
			r.ResumedAfterHint++
		case verdict.NoteRejectedWithinHint:
			r.RejectedWithinHint++
		}
	}
	for _, is := range c.Issued {
		if is.KeyHint != "" && len(r.hints) < maxKeyHints && !slices.Contains(r.hints, is.KeyHint) {
			r.hints = append(r.hints, is.KeyHint)
		}
	}
}

// table returns the rows, busiest first, the row of the rest last.
func (s *servers) table() []*ServerRow {
	out := make([]*ServerRow, 0, len(s.rows)+1)
	for _, r := range s.rows {
		out = append(out, r.final())
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Conns != b.Conns {
			return a.Conns > b.Conns
		}
		if c := a.Server.IP.Compare(b.Server.IP); c != 0 {
			return c < 0
		}
		if a.Server.Port != b.Server.Port {
			return a.Server.Port < b.Server.Port
		}
		return *a.SNI < *b.SNI
	})
	if s.other != nil {
		out = append(out, s.other.final())
	}
	return out
}

func (r *ServerRow) final() *ServerRow {
	if n := r.Full + r.Resumed; n > 0 {
		r.ResumptionRate = ptr(float64(r.Resumed) / float64(n))
	}
	r.MedianResumeAge, r.MaxResumeAge = r.ages.Median(), r.ages.Max()
	r.TicketKeyHints = len(r.hints)
	return r
}

// AgeHistogram keeps resumption ages in fixed memory: counts in buckets
// a sixteenth of an octave wide (4.4 %), from 1 ms to about 2^27 ms (37
// hours; older ages count in the last bucket), and the exact maximum.
type AgeHistogram struct {
	n      int
	max    float64
	counts [ageBuckets]uint32
}

const (
	agePerOctave = 16
	ageBuckets   = 27*agePerOctave + 1
)

// Add counts an age in seconds.
func (h *AgeHistogram) Add(age float64) {
	if h.n == 0 || age > h.max {
		h.max = age
	}
	h.n++
	i := 0
	if ms := age * 1000; ms > 1 {
		i = min(int(math.Log2(ms)*agePerOctave)+1, ageBuckets-1)
	}
	h.counts[i]++
}

// Median returns the median age in seconds, to within half a bucket (the
// geometric middle of the bucket that holds it), or nil without ages.
func (h *AgeHistogram) Median() *float64 {
	if h.n == 0 {
		return nil
	}
	seen := uint32(0)
	for i, c := range h.counts {
		seen += c
		if 2*int(seen) >= h.n {
			if i == 0 {
				return ptr(math.Round(min(0.0005, h.max)*1e3) / 1e3)
			}
			mid := math.Exp2((float64(i-1)+0.5)/agePerOctave) / 1000
			return ptr(math.Round(min(mid, h.max)*1e3) / 1e3)
		}
	}
	return ptr(h.max)
}

// Max returns the largest age in seconds, or nil without ages.
func (h *AgeHistogram) Max() *float64 {
	if h.n == 0 {
		return nil
	}
	return ptr(h.max)
}
