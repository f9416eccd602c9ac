package sessions

import (
	"net/netip"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// Conn is the verdict on one TLS connection: the `conn` event.
type Conn struct {
	Type       string           `json:"type"`
	ID         int              `json:"id"`
	TS         time.Time        `json:"ts"`
	Client     verdict.Endpoint `json:"client"`
	Server     verdict.Endpoint `json:"server"`
	SNI        string           `json:"sni"`
	ALPN       []string         `json:"alpn"`
	Version    string           `json:"version"`
	Cipher     string           `json:"cipher"`
	Handshake  verdict.Outcome  `json:"handshake"`
	Resumption verdict.Method   `json:"resumption"`
	Offered    []verdict.Method `json:"offered"`
	Rejected   bool             `json:"rejected"`
	Session    *string          `json:"session"`
	Resumes    *int             `json:"resumes"`
	Issued     []verdict.Issued `json:"issued"`
	History    string           `json:"history"`
	Notes      []verdict.Note   `json:"notes"`

	// resumeAge is the seconds since the origin's handshake, for a
	// resumption whose origin is visible.
	resumeAge *float64
}

// Session is a TLS session: the connections that share one negotiated
// state through resumption. It is the `session` event.
type Session struct {
	Type          string           `json:"type"`
	ID            string           `json:"id"`
	Keys          []string         `json:"keys"`
	Origin        *int             `json:"origin"`
	Conns         []int            `json:"conns"`
	Resumptions   int              `json:"resumptions"`
	Rejected      int              `json:"rejected"`
	RejectedConns []int            `json:"rejected_conns"`
	FirstTS       time.Time        `json:"first_ts"`
	LastTS        time.Time        `json:"last_ts"`
	Server        verdict.Endpoint `json:"server"`
	SNI           string           `json:"sni"`
	Clients       []netip.Addr     `json:"clients"`
	LifetimeHint  *int64           `json:"lifetime_hint"`
	MaxResumeAge  *float64         `json:"max_resume_age"`

	// Members summarises the connections of Conns with the lowest ids, at
	// most Members of them, for reports that draw a session as a tree.
	Members []Member `json:"-"`

	parent   *Session
	seq      int
	originTS time.Time
	hasTS    bool
	issuer   verdict.Endpoint // server of the origin connection, when visible
}

// Members bounds the connection summaries a session keeps for reports.
const Members = 12

// Member is what a report shows of one connection of a session.
type Member struct {
	ID         int
	TS         time.Time
	Client     verdict.Endpoint
	Handshake  verdict.Outcome
	Resumption verdict.Method
	Rejected   bool
}

// FarmPair counts, for sessions issued by one server address and offered to
// another, how many offers the other accepted and rejected: whether a farm
// shares its session cache or ticket keys.
type FarmPair struct {
	Issuer   verdict.Endpoint `json:"issuer"`
	Acceptor verdict.Endpoint `json:"acceptor"`
	Accepted int              `json:"accepted"`
	Rejected int              `json:"rejected"`
}

// Totals counts the connections judged.
type Totals struct {
	TLS, Full, Resumed, Unknown, Rejected int
	ByMethod                              map[verdict.Method]int
}

func ptr[T any](v T) *T { return &v }
