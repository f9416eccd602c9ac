package sessions

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// serverKey is one row of the per-server table: a server address and the
// name clients asked it for.
type serverKey struct {
	server    verdict.Endpoint
	sni       string
	transport verdict.Transport
}

// ServerRow is one row of the per-server table in the summary. The row
// of the servers past Config.MaxServers has Other set and no server.
type ServerRow struct {
	Server             *verdict.Endpoint      `json:"server"`
	SNI                *string                `json:"sni"`
	Transport          *verdict.Transport     `json:"transport"`
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
	// PSKReused counts TLS 1.3 identities offered again (single-use
	// tickets reused, RFC 8446, Section 8); EarlyDataOffered and
	// EarlyDataAccepted count 0-RTT offers, and those the server accepted
	// (read with the key log).
	PSKReused         int `json:"psk_reused"`
	EarlyDataOffered  int `json:"early_data_offered"`
	EarlyDataAccepted int `json:"early_data_accepted"`

	ages  AgeHistogram
	hints []keyHint // distinct ticket key hints in order of first sight, at most maxKeyHints
	f     findingAgg

	// The row's timeline and largest ticket lifetime hint (timeline.go).
	series series
	tl     *timeline
	hint   int64
}

// keyHint is one ticket key hint of a server: when it was first and last
// seen on an issued ticket, and on how many.
type keyHint struct {
	hint        string
	first, last time.Time
	tickets     int
}

// ageRange is the youngest and the oldest of some offers' ages, with
// the conn of each: fixed memory however many offers.
type ageRange struct {
	n                  int
	young, old         float64
	youngConn, oldConn int
}

func (a *ageRange) add(age float64, id int) {
	if a.n == 0 || age < a.young {
		a.young, a.youngConn = age, id
	}
	if a.n == 0 || age > a.old {
		a.old, a.oldConn = age, id
	}
	a.n++
}

func (a *ageRange) merge(b ageRange) {
	if b.n == 0 {
		return
	}
	n := a.n
	a.add(b.young, b.youngConn)
	a.add(b.old, b.oldConn)
	a.n = n + b.n
}

// cut is a candidate restart or ticket key change: from a time on, every
// offered session issued before it is refused and sessions issued after
// it resume. It lies after `after` (the latest origin of a refused
// session, or the last accepted offer before the first refusal) and no
// later than `before` (the first refusal, or the earliest origin of a
// session issued since and resumed).
type cut struct {
	set            bool
	after, before  time.Time
	firstRefusal   int // conn id
	refused        ageRange
	newAccepted    int
	acceptedBefore int // offers accepted before the first refusal
}

// findingAgg is what a server's findings are decided from, in fixed
// memory (docs: sessions/findings.go).
type findingAgg struct {
	accepted     ageRange // offers accepted, with a visible origin
	refused      ageRange // refusals not in cut
	cut          cut
	lastAccepted time.Time // capture time of the last accepted offer
	// tickets: TLS 1.2 connections whose ClientHello announced ticket
	// support, tickets issued or accepted, connections that issued
	// anything, connections that offered anything.
	announced, tickets, issuing, offering int
}

// offer adds an offer of a session issued at origin, made by conn id at
// t, accepted or refused, with the session's age at t.
func (f *findingAgg) offer(id int, t, origin time.Time, age float64, accepted bool) {
	k := &f.cut
	if accepted {
		f.accepted.add(age, id)
		switch {
		case !k.set:
			f.lastAccepted = t
		case !origin.After(k.after):
			// A session from before the cut resumed after it: no cut.
			f.refused.merge(k.refused)
			*k = cut{}
			f.lastAccepted = t
		default:
			k.newAccepted++
			if origin.Before(k.before) {
				k.before = origin
			}
		}
		return
	}
	if k.set && !origin.Before(k.before) {
		// A session from after the cut refused: this cut is wrong; the
		// refusals so far are ordinary ones, a new cut may start here.
		f.refused.merge(k.refused)
		*k = cut{}
	}
	if !k.set {
		*k = cut{set: true, after: origin, before: t, firstRefusal: id, acceptedBefore: f.accepted.n}
		if f.lastAccepted.After(k.after) {
			k.after = f.lastAccepted
		}
	}
	if origin.After(k.after) {
		k.after = origin
	}
	k.refused.add(age, id)
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
	k := serverKey{c.Server, c.SNI, c.Transport}
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
	r.Server, r.SNI, r.Transport = ptr(c.Server), ptr(c.SNI), ptr(c.Transport)
	s.rows[k] = r
	return r
}

func (s *servers) add(c *Conn) {
	r := s.row(c)
	r.Conns++
	if c.EarlyData {
		r.EarlyDataOffered++
	}
	if c.EarlyDataAccepted != nil && *c.EarlyDataAccepted {
		r.EarlyDataAccepted++
	}
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
	if c.offerAge != nil {
		r.f.offer(c.ID, c.TS.Time, c.offerOrigin, *c.offerAge, c.Handshake == verdict.Resumed)
	}
	if c.ticketSupport && c.Version != "" && c.Version != "TLS 1.3" {
		r.f.announced++
	}
	if len(c.Issued) > 0 {
		r.f.issuing++
	}
	if len(c.Offered) > 0 {
		r.f.offering++
	}
	if c.Resumption == verdict.ByTicket || slices.ContainsFunc(c.Issued, func(is verdict.Issued) bool { return is.Kind == verdict.IssuedTicket }) {
		r.f.tickets++
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
		if is.KeyHint == "" {
			continue
		}
		if i := slices.IndexFunc(r.hints, func(h keyHint) bool { return h.hint == is.KeyHint }); i >= 0 {
			r.hints[i].last = c.TS.Time
			r.hints[i].tickets++
		} else if len(r.hints) < maxKeyHints {
			r.hints = append(r.hints, keyHint{hint: is.KeyHint, first: c.TS.Time, last: c.TS.Time, tickets: 1})
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
		if *a.SNI != *b.SNI {
			return *a.SNI < *b.SNI
		}
		return *a.Transport < *b.Transport
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
