package tlsgen

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Conn is the truth about one TLS connection, taken from the two crypto/tls stacks (and
// cross-checked against the ClientHello and ServerHello on the wire).
type Conn struct {
	// ID is the connection's 1-based position among the TLS connections of the capture,
	// by first packet (the SYN). Non-TLS flows take no ID.
	ID int
	// Flow is the 1-based position among all TCP connections (TLS or not), by SYN.
	Flow int
	// Step is the 0-based index of the scenario step that made the connection.
	Step int
	// Start is the time of the SYN.
	Start          time.Time
	Client, Server netip.AddrPort
	// ServerName is the scenario's name for the server.
	ServerName string
	// SNI is the server_name the client sent ("" for none).
	SNI string
	// Version is the negotiated version: "TLS 1.2" or "TLS 1.3".
	Version string
	// Cipher is the IANA name of the negotiated cipher suite.
	Cipher string
	// ALPN is the negotiated application protocol.
	ALPN string
	// Resumed is ConnectionState.DidResume; client and server agree on it.
	Resumed bool
	// Method is "ticket" (TLS 1.2), "psk" (TLS 1.3) when Resumed, else "". Go never resumes
	// by session ID.
	Method string
	// Offered: the client offered a session (a non-empty session_ticket extension or a
	// pre_shared_key extension in its first ClientHello).
	Offered bool
	// Rejected is Offered && !Resumed.
	Rejected bool
	// HRR: the server sent a HelloRetryRequest.
	HRR bool
	// Session is the ID of the full-handshake connection that created the session this
	// connection belongs to: its own ID after a full handshake, the origin's when resumed.
	// A renewed ticket stays in its session, so a chain of resumptions keeps one Session.
	Session int
	// Resumes is Session when Resumed, else 0.
	Resumes int
	// TicketFrom is the ID of the connection on which the client received the ticket (TLS
	// 1.2) or PSK identity (TLS 1.3) it offered, whether accepted or not; 0 when nothing was
	// offered. Unlike Session it changes along a chain of renewed tickets.
	TicketFrom int
	// Offer is the digest (first 16 bytes of SHA-256, hex, as in docs/design.md) of the offered
	// ticket or PSK identity; "" when nothing was offered.
	Offer string
	// Issued lists the digests of the tickets the client received and stored on this
	// connection (TLS 1.2: visible in the NewSessionTicket; TLS 1.3: encrypted, visible only
	// when a later connection offers the identity).
	Issued []string
	// Note is free text from the scenario.
	Note string
}

// Handshake is "resumed" or "full".
func (c *Conn) Handshake() string {
	if c.Resumed {
		return "resumed"
	}
	return "full"
}

var truthHeader = []string{
	"id", "flow", "step", "start", "client", "server", "server_name", "sni", "version", "cipher",
	"alpn", "handshake", "method", "offered", "rejected", "hrr", "session", "resumes",
	"ticket_from", "offer", "issued", "note",
}

// WriteTruth writes conns as tab-separated values with a header line. Empty strings are
// written as "-"; lists are comma-separated; times are RFC 3339 with microseconds, UTC.
func WriteTruth(w io.Writer, conns []Conn) error {
	tw := NewTruthWriter(w)
	for i := range conns {
		if err := tw.Write(&conns[i]); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// TruthWriter writes the truth one connection at a time, as WriteTruth does, for a [Stream].
type TruthWriter struct {
	bw     *bufio.Writer
	header bool
}

// NewTruthWriter returns a TruthWriter on w. The header line is written with the first
// connection, or by Flush.
func NewTruthWriter(w io.Writer) *TruthWriter {
	return &TruthWriter{bw: bufio.NewWriter(w)}
}

// Write writes one connection's line.
func (t *TruthWriter) Write(c *Conn) error {
	bw := t.bw
	if !t.header {
		t.header = true
		bw.WriteString(strings.Join(truthHeader, "\t"))
		bw.WriteByte('\n')
	}
	f := []string{
		strconv.Itoa(c.ID), strconv.Itoa(c.Flow), strconv.Itoa(c.Step),
		c.Start.UTC().Format(timeFormat), c.Client.String(), c.Server.String(),
		dash(c.ServerName), dash(c.SNI), dash(c.Version), dash(c.Cipher), dash(c.ALPN),
		c.Handshake(), dash(c.Method), strconv.FormatBool(c.Offered),
		strconv.FormatBool(c.Rejected), strconv.FormatBool(c.HRR), strconv.Itoa(c.Session),
		strconv.Itoa(c.Resumes), strconv.Itoa(c.TicketFrom), dash(c.Offer),
		dash(strings.Join(c.Issued, ",")), dash(clean(c.Note)),
	}
	bw.WriteString(strings.Join(f, "\t"))
	if err := bw.WriteByte('\n'); err != nil {
		return fmt.Errorf("tlsgen: write truth: %w", err)
	}
	return nil
}

// Flush writes the header if nothing was written yet, and what is buffered.
func (t *TruthWriter) Flush() error {
	if !t.header {
		t.header = true
		t.bw.WriteString(strings.Join(truthHeader, "\t"))
		t.bw.WriteByte('\n')
	}
	if err := t.bw.Flush(); err != nil {
		return fmt.Errorf("tlsgen: write truth: %w", err)
	}
	return nil
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// ReadTruth reads what WriteTruth wrote.
func ReadTruth(r io.Reader) ([]Conn, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	var conns []Conn
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if line == 1 {
			if strings.Join(f, "\t") != strings.Join(truthHeader, "\t") {
				return nil, fmt.Errorf("tlsgen: truth: unexpected header")
			}
			continue
		}
		if len(f) != len(truthHeader) {
			return nil, fmt.Errorf("tlsgen: truth: line %d: %d fields, want %d", line, len(f), len(truthHeader))
		}
		var c Conn
		var errs []error
		atoi := func(s string) int {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, err)
			}
			return n
		}
		bool_ := func(s string) bool {
			b, err := strconv.ParseBool(s)
			if err != nil {
				errs = append(errs, err)
			}
			return b
		}
		addr := func(s string) netip.AddrPort {
			a, err := netip.ParseAddrPort(s)
			if err != nil {
				errs = append(errs, err)
			}
			return a
		}
		c.ID, c.Flow, c.Step = atoi(f[0]), atoi(f[1]), atoi(f[2])
		t, err := time.Parse(timeFormat, f[3])
		if err != nil {
			errs = append(errs, err)
		}
		c.Start = t
		c.Client, c.Server = addr(f[4]), addr(f[5])
		c.ServerName, c.SNI, c.Version, c.Cipher, c.ALPN = undash(f[6]), undash(f[7]), undash(f[8]), undash(f[9]), undash(f[10])
		switch f[11] {
		case "resumed":
			c.Resumed = true
		case "full":
		default:
			errs = append(errs, fmt.Errorf("handshake %q", f[11]))
		}
		c.Method = undash(f[12])
		c.Offered, c.Rejected, c.HRR = bool_(f[13]), bool_(f[14]), bool_(f[15])
		c.Session, c.Resumes, c.TicketFrom = atoi(f[16]), atoi(f[17]), atoi(f[18])
		c.Offer = undash(f[19])
		if s := undash(f[20]); s != "" {
			c.Issued = strings.Split(s, ",")
		}
		c.Note = undash(f[21])
		if len(errs) > 0 {
			return nil, fmt.Errorf("tlsgen: truth: line %d: %w", line, errs[0])
		}
		conns = append(conns, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tlsgen: truth: %w", err)
	}
	return conns, nil
}
