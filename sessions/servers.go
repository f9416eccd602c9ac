package sessions

import (
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

// ServerRow is one row of the per-server table in the summary.
type ServerRow struct {
	Server             verdict.Endpoint       `json:"server"`
	SNI                string                 `json:"sni"`
	Conns              int                    `json:"conns"`
	Full               int                    `json:"full"`
	Resumed            int                    `json:"resumed"`
	Unknown            int                    `json:"unknown"`
	ResumptionRate     float64                `json:"resumption_rate"`
	Rejected           int                    `json:"rejected"`
	ByMethod           map[verdict.Method]int `json:"by_method"`
	MedianResumeAge    *float64               `json:"median_resume_age"`
	MaxResumeAge       *float64               `json:"max_resume_age"`
	ResumedAfterHint   int                    `json:"resumed_after_lifetime_hint"`
	RejectedWithinHint int                    `json:"rejected_within_lifetime_hint"`
	TicketKeyHints     int                    `json:"ticket_key_hints"`

	ages  []float64
	hints map[string]bool
}

// servers aggregates conn events per server.
type servers struct {
	rows map[serverKey]*ServerRow
}

func (s *servers) add(c *Conn) {
	if s.rows == nil {
		s.rows = map[serverKey]*ServerRow{}
	}
	k := serverKey{c.Server, c.SNI}
	r := s.rows[k]
	if r == nil {
		r = &ServerRow{Server: c.Server, SNI: c.SNI, hints: map[string]bool{},
			ByMethod: map[verdict.Method]int{verdict.BySessionID: 0, verdict.ByTicket: 0, verdict.ByPSK: 0}}
		s.rows[k] = r
	}
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
		r.ages = append(r.ages, *c.resumeAge)
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
		if is.KeyHint != "" {
			r.hints[is.KeyHint] = true
		}
	}
}

// table returns the rows, busiest first.
func (s *servers) table() []*ServerRow {
	out := make([]*ServerRow, 0, len(s.rows))
	for _, r := range s.rows {
		if n := r.Full + r.Resumed; n > 0 {
			r.ResumptionRate = float64(r.Resumed) / float64(n)
		}
		if len(r.ages) > 0 {
			slices.Sort(r.ages)
			m := r.ages[len(r.ages)/2]
			if len(r.ages)%2 == 0 {
				m = (r.ages[len(r.ages)/2-1] + m) / 2
			}
			r.MedianResumeAge, r.MaxResumeAge = &m, &r.ages[len(r.ages)-1]
		}
		r.TicketKeyHints = len(r.hints)
		out = append(out, r)
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
		return a.SNI < b.SNI
	})
	return out
}
