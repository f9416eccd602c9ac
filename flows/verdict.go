package flows

import (
	"encoding/hex"
	"net/netip"
	"time"
)

// Endpoint is an address and port.
type Endpoint struct {
	IP   netip.Addr `json:"ip"`
	Port uint16     `json:"port"`
}

func (e Endpoint) compare(o Endpoint) int {
	if c := e.IP.Compare(o.IP); c != 0 {
		return c
	}
	return int(e.Port) - int(o.Port)
}

// String is ip:port, with brackets for IPv6.
func (e Endpoint) String() string { return netip.AddrPortFrom(e.IP, e.Port).String() }

// Issued is a session ID or ticket a server handed out.
type Issued struct {
	Kind         string `json:"kind"`                      // "session_id" or "ticket"
	Digest       string `json:"digest"`                    // ticket: first 16 bytes of SHA-256, hex; session ID: the ID in hex
	Length       int    `json:"length"`                    // bytes
	LifetimeHint int64  `json:"lifetime_hint"`             // seconds (tickets; 0 when unspecified)
	KeyHint      string `json:"ticket_key_hint,omitempty"` // heuristic: the ticket's first 16 bytes
}

// Handshake outcomes.
const (
	Full    = "full"
	Resumed = "resumed"
	Unknown = "unknown"
)

// Resumption mechanisms.
const (
	BySessionID = "session_id"
	ByTicket    = "ticket"
	ByPSK       = "psk"
)

// Conn is the verdict on one TLS connection: the `conn` event.
type Conn struct {
	Type       string    `json:"type"`
	ID         int       `json:"id"`
	TS         time.Time `json:"ts"`
	Client     Endpoint  `json:"client"`
	Server     Endpoint  `json:"server"`
	SNI        string    `json:"sni"`
	ALPN       []string  `json:"alpn"`
	Version    string    `json:"version"`
	Cipher     string    `json:"cipher"`
	Handshake  string    `json:"handshake"`
	Resumption *string   `json:"resumption"`
	Offered    []string  `json:"offered"`
	Rejected   bool      `json:"rejected"`
	Session    *string   `json:"session"`
	Resumes    *int      `json:"resumes"`
	Issued     []Issued  `json:"issued"`
	History    string    `json:"history"`
	Notes      []string  `json:"notes"`

	// ResumeAge is the seconds since the origin's handshake, for a
	// resumption whose origin is visible; not part of the event.
	ResumeAge *float64 `json:"-"`

	// What sessions are joined on; not part of the event.
	obs observation
}

// observation is the raw evidence Sessions needs to finish a verdict.
type observation struct {
	tls13        bool
	negotiated   bool // a ServerHello was seen
	chSessionID  string
	shSessionID  string
	echo         bool
	ticketDigest string // offered ticket
	pskDigests   []string
	selectedPSK  int // -1 when none
	abbreviated  bool
	offersTLS13  bool
}

// observation turns what the connection saw into a Conn whose
// capture-independent fields are final. Sessions decides the rest
// (session ID offers, session, resumes) with what earlier connections
// assigned.
func (c *tlsConn) observation() *Conn {
	out := &Conn{Type: "conn", ID: c.id, TS: c.chTS.UTC(), History: string(c.history)}
	cl, sv := c.endpoints()
	out.Client, out.Server = cl, sv
	ob := &out.obs
	ob.selectedPSK = -1
	if c.hrr {
		c.note("hello_retry_request")
	}
	if c.alert != "" {
		c.note(c.alert)
	}
	if ch := c.ch; ch != nil {
		out.SNI, out.ALPN = ch.sni, ch.alpn
		ob.chSessionID = hex.EncodeToString(ch.sessionID)
		ob.ticketDigest = ch.ticketDigest
		ob.pskDigests = ch.pskDigests
		ob.offersTLS13 = ch.offersTLS13
		for _, n := range ch.notes {
			c.note(n)
		}
		if ch.sslv2 {
			c.note("sslv2_client_hello")
		}
	} else {
		c.note("client_hello_missing")
	}
	out.Handshake = Unknown
	sh := c.sh
	if sh == nil {
		if c.ch != nil {
			c.note("server_hello_missing")
		}
		out.Notes = c.notes
		return out
	}
	for _, n := range sh.notes {
		c.note(n)
	}
	ob.negotiated = true
	out.Version = sh.version.String()
	out.Cipher = sh.cipher.String()
	ob.shSessionID = hex.EncodeToString(sh.sessionID)
	ob.tls13 = sh.version.IsTLS13()
	if ob.tls13 {
		// RFC 8446, Section 4.2.11: resumed when the server selected one
		// of the offered identities. The legacy session ID echo is
		// middlebox compatibility (Appendix D.4) and never a resumption.
		if len(ob.pskDigests) > 0 {
			out.Offered = append(out.Offered, ByPSK)
		}
		switch {
		case sh.hasPSK:
			ob.selectedPSK = sh.selected
			if c.ch != nil && sh.selected >= len(ob.pskDigests) {
				c.note("selected_identity_out_of_range")
			}
			out.Handshake, out.Resumption = Resumed, ptr(ByPSK)
		default:
			// Without a pre_shared_key the server made a full handshake,
			// whether or not the ClientHello was captured.
			out.Handshake = Full
		}
		out.Notes = c.notes
		return out
	}
	// TLS 1.2 and older.
	ob.echo = len(sh.sessionID) > 0 && c.ch != nil && ob.chSessionID == ob.shSessionID
	if ob.ticketDigest != "" {
		out.Offered = append(out.Offered, ByTicket)
	}
	serverGap := c.server >= 0 && c.halves[c.server].gap
	switch {
	case c.fullSeen:
		out.Handshake = Full
	case c.serverCCS && !serverGap:
		// RFC 5246, Section 7.3: an abbreviated handshake goes from
		// ServerHello straight to ChangeCipherSpec.
		ob.abbreviated = true
	case c.serverCCS:
		c.note("abbreviated_unproven")
	}
	if len(sh.sessionID) > 0 && !ob.echo && out.Handshake == Full {
		out.Issued = append(out.Issued, Issued{Kind: BySessionID, Digest: ob.shSessionID, Length: len(sh.sessionID)})
	}
	out.Issued = append(out.Issued, c.issued...)
	out.Notes = c.notes
	return out
}

func (c *tlsConn) endpoints() (client, server Endpoint) {
	a, b := c.flow.addrs()
	// Direction 0 is the sender of the connection's first packet.
	if c.client == 1 || (c.client < 0 && c.server == 0) {
		return b, a
	}
	return a, b
}

func ptr[T any](v T) *T { return &v }
