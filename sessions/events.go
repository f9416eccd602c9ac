package sessions

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// FormatVersion is the version of the NDJSON contract: the summary's
// `format_version`. Any change to an event's fields (added, removed,
// renamed, retyped, or a new meaning) increases it.
const FormatVersion = 1

// Timestamp is a capture time in the output: RFC 3339 in UTC with a
// fixed number of fractional digits (6, or 9 when the capture has
// nanosecond timestamps), so that string order is time order.
type Timestamp struct {
	time.Time
	Nano bool
}

// MarshalJSON writes the fixed-width form.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	layout := `"2006-01-02T15:04:05.000000Z07:00"`
	if t.Nano {
		layout = `"2006-01-02T15:04:05.000000000Z07:00"`
	}
	return []byte(t.UTC().Format(layout)), nil
}

// Conn is the verdict on one TLS connection: the `conn` event.
type Conn struct {
	Type       string            `json:"type"`
	ID         int               `json:"id"`
	TS         Timestamp         `json:"ts"`
	Transport  verdict.Transport `json:"transport"`
	Client     verdict.Endpoint  `json:"client"`
	Server     verdict.Endpoint  `json:"server"`
	SNI        string            `json:"sni"`
	ALPN       []string          `json:"alpn"`
	Version    string            `json:"version"`
	Cipher     string            `json:"cipher"`
	Handshake  verdict.Outcome   `json:"handshake"`
	Resumption verdict.Method    `json:"resumption"`
	Offered    []verdict.Method  `json:"offered"`
	Rejected   bool              `json:"rejected"`
	Session    *string           `json:"session"`
	Resumes    *int              `json:"resumes"`
	Issued     []verdict.Issued  `json:"issued"`
	History    string            `json:"history"`
	Notes      []verdict.Note    `json:"notes"`
	JA3        *string           `json:"ja3"`
	JA4        *string           `json:"ja4"`
	// EarlyData: the client offered 0-RTT data.
	EarlyData bool `json:"early_data"`
	// QUIC: the version ("QUICv1", "QUICv2"; null for TCP and DTLS),
	// whether a Retry came first, and the 0-RTT packets the client sent
	// before the verdict.
	QUICVersion    *string `json:"quic_version"`
	Retry          bool    `json:"retry"`
	ZeroRTTPackets int     `json:"zero_rtt_packets"`
	// IssuedBy is the connection on which the server issued the session
	// ID or ticket this resumption used (Resumes is the session's origin;
	// they differ along a chain of renewed tickets).
	IssuedBy *int `json:"issued_by"`
	// TicketAge is the TLS 1.3 ticket's age at resumption, in seconds:
	// obfuscated_ticket_age - ticket_age_add (RFC 8446, Section
	// 4.2.11.1), when the ticket was read with the key log.
	TicketAge *float64 `json:"ticket_age"`
	// Keys: the key log had this connection's secrets.
	Keys bool `json:"keys"`
	// EarlyDataAccepted: the server's EncryptedExtensions accepted 0-RTT;
	// null when they were not read.
	EarlyDataAccepted *bool `json:"early_data_accepted"`
	// Frames of the packets that completed the ClientHello and the
	// ServerHello, as Wireshark numbers them; null when not seen.
	ClientHelloFrame *uint64 `json:"client_hello_frame"`
	ServerHelloFrame *uint64 `json:"server_hello_frame"`
	// Sensor names the capture point (Config.Sensor); absent when unset.
	Sensor string `json:"sensor,omitempty"`

	// resumeAge is the seconds since the origin's handshake, for a
	// resumption whose origin is visible.
	resumeAge *float64
	// offerAge and offerOrigin: for an offer (accepted or refused) of a
	// session whose origin is visible, its age and its origin's time.
	offerAge    *float64
	offerOrigin time.Time
	// ticketSupport: the ClientHello carried a session_ticket extension.
	ticketSupport bool
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
	Rejected      int              `json:"rejected_offers"`
	RejectedConns []int            `json:"rejected_conns"`
	FirstTS       Timestamp        `json:"first_ts"`
	LastTS        Timestamp        `json:"last_ts"`
	Server        verdict.Endpoint `json:"server"`
	SNI           string           `json:"sni"`
	Clients       []netip.Addr     `json:"clients"`
	LifetimeHint  *int64           `json:"lifetime_hint"`
	MaxResumeAge  *float64         `json:"max_resume_age"`
	Sensor        string           `json:"sensor,omitempty"` // Config.Sensor; absent when unset

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

// Totals counts the connections judged: the summary's totals.
type Totals struct {
	TLS, Full, Resumed, Unknown, Rejected int
	ByMethod                              map[verdict.Method]int
	// UnknownReasons says why verdicts are unknown: the note that
	// explains each (server_hello_missing, abbreviated_unproven, ...), or
	// handshake_incomplete when the server's flight stopped before it
	// showed full or abbreviated.
	UnknownReasons map[string]int
}

// unknownReasons are the notes that explain an unknown verdict, in the
// order they are looked for.
var unknownReasons = []verdict.Note{verdict.NoteServerHelloMissing, verdict.NoteMalformedServerHello,
	verdict.NoteAbbreviatedUnproven, verdict.NoteAbbreviatedWithoutOffer, verdict.NoteGap}

// unknownReason is why c's verdict is unknown.
func unknownReason(c *Conn) string {
	for _, r := range unknownReasons {
		if slices.Contains(c.Notes, r) {
			return string(r)
		}
	}
	if c.Version == "" {
		return string(verdict.NoteServerHelloMissing)
	}
	return "handshake_incomplete"
}

func ptr[T any](v T) *T { return &v }
