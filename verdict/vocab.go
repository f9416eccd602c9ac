package verdict

import (
	"encoding/hex"
	"fmt"
	"net/netip"
)

// Outcome is how a connection's handshake went: the conn event's
// `handshake` field.
type Outcome uint8

// Outcomes. The zero value is Unknown: no verdict without evidence.
const (
	Unknown Outcome = iota // unknown
	Full                   // full
	Resumed                // resumed
)

var outcomeNames = [...]string{Unknown: "unknown", Full: "full", Resumed: "resumed"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Method is a resumption mechanism: the conn event's `resumption` field
// and the words of `offered`.
type Method uint8

// Methods. NoMethod is written as null.
const (
	NoMethod    Method = iota
	BySessionID        // session_id
	ByTicket           // ticket
	ByPSK              // psk
)

var methodNames = [...]string{NoMethod: "", BySessionID: "session_id", ByTicket: "ticket", ByPSK: "psk"}

// Methods lists the resumption mechanisms in the order the output uses.
var Methods = []Method{BySessionID, ByTicket, ByPSK}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// MarshalJSON writes the method's name, or null for NoMethod.
func (m Method) MarshalJSON() ([]byte, error) {
	if m == NoMethod {
		return []byte("null"), nil
	}
	return []byte(`"` + m.String() + `"`), nil
}

// MarshalText writes the method's name (as a map key).
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Note is an anomaly or finding on a connection: a word of the conn
// event's `notes`. The parser adds notes of its own ("duplicate_extension_N",
// "psk_not_last"); the fixed ones are below.
type Note string

// Notes that the pipeline and the verdict write.
const (
	NoteGap                      Note = "gap"
	NoteMidstream                Note = "midstream"
	NotePlaintextPreamble        Note = "plaintext_preamble"
	NoteOversized                Note = "oversized"
	NoteMalformedRecord          Note = "malformed_record"
	NoteMalformedClientHello     Note = "malformed_client_hello"
	NoteMalformedServerHello     Note = "malformed_server_hello"
	NoteMalformedTicket          Note = "malformed_new_session_ticket"
	NoteRepeatedClientHello      Note = "repeated_client_hello"
	NoteRepeatedServerHello      Note = "repeated_server_hello"
	NoteAppDataBeforeServerHello Note = "application_data_before_server_hello"
	NoteHelloRetryRequest        Note = "hello_retry_request"
	NoteSSLv2ClientHello         Note = "sslv2_client_hello"
	NoteClientHelloMissing       Note = "client_hello_missing"
	NoteServerHelloMissing       Note = "server_hello_missing"
	NoteSelectedOutOfRange       Note = "selected_identity_out_of_range"
	NoteAbbreviatedUnproven      Note = "abbreviated_unproven"
	NoteAbbreviatedWithoutOffer  Note = "abbreviated_without_offer"
	NoteUnknownSessionID         Note = "unknown_session_id"
	NoteResumedAfterHint         Note = "resumed_after_lifetime_hint"
	NoteRejectedWithinHint       Note = "rejected_within_lifetime_hint"
	NoteHelloVerifyRequest       Note = "hello_verify_request"
	NoteRetry                    Note = "retry"
	NoteVersionNegotiation       Note = "version_negotiation"
	NoteDecryptFailed            Note = "decrypt_failed"
	NoteCertificateInResumption  Note = "certificate_in_psk_resumption"
	NotePSKReused                Note = "psk_reused"
)

// AlertNote is the note for a fatal alert with the given description
// (RFC 8446, Section 6).
func AlertNote(description uint8) Note { return Note(fmt.Sprintf("alert_%d", description)) }

// Transport is what carried a connection's handshake: the conn event's
// `transport` field.
type Transport uint8

// Transports.
const (
	TCP  Transport = iota // tcp
	QUIC                  // quic
	DTLS                  // dtls
)

var transportNames = [...]string{TCP: "tcp", QUIC: "quic", DTLS: "dtls"}

func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return fmt.Sprintf("Transport(%d)", uint8(t))
}

// MarshalText writes the transport's name.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Endpoint is an address and port.
type Endpoint struct {
	IP   netip.Addr `json:"ip"`
	Port uint16     `json:"port"`
}

// Compare orders endpoints by address, then port.
func (e Endpoint) Compare(o Endpoint) int {
	if c := e.IP.Compare(o.IP); c != 0 {
		return c
	}
	return int(e.Port) - int(o.Port)
}

// String is ip:port, with brackets for IPv6 ("[::1]:443").
func (e Endpoint) String() string { return netip.AddrPortFrom(e.IP, e.Port).String() }

// IssuedKind says what a server handed out.
type IssuedKind uint8

// What a server hands out for later resumption.
const (
	IssuedSessionID IssuedKind = iota + 1 // session_id
	IssuedTicket                          // ticket
	IssuedPSK                             // psk: a TLS 1.3 NewSessionTicket, read with the key log
)

func (k IssuedKind) String() string {
	switch k {
	case IssuedSessionID:
		return "session_id"
	case IssuedTicket:
		return "ticket"
	case IssuedPSK:
		return "psk"
	}
	return fmt.Sprintf("IssuedKind(%d)", uint8(k))
}

// MarshalText writes the kind's name.
func (k IssuedKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Key is the session key this names: `sid:<hex>` or `tkt:<digest>`
// (docs/design.md, "Sessions").
func (k IssuedKind) Key(digest string) string {
	switch k {
	case IssuedTicket:
		return "tkt:" + digest
	case IssuedPSK:
		return "psk:" + digest
	}
	return "sid:" + digest
}

// Issued is a session ID or ticket a server handed out.
type Issued struct {
	Kind         IssuedKind `json:"kind"`
	Digest       string     `json:"digest"`                    // ticket: first 16 bytes of SHA-256, hex; session ID: the ID in hex
	Length       int        `json:"length"`                    // bytes
	LifetimeHint int64      `json:"lifetime_hint"`             // seconds (tickets; 0 when unspecified)
	KeyHint      string     `json:"ticket_key_hint,omitempty"` // heuristic: the ticket's first 16 bytes
	// TLS 1.3 tickets (kind psk): the max_early_data_size the server
	// allows with it (RFC 8446, Section 4.2.10), 0 without early_data.
	MaxEarlyData uint32 `json:"max_early_data,omitempty"`
	// AgeAdd is the ticket's ticket_age_add, to recover the ticket's age
	// when it is offered (RFC 8446, Section 4.2.11.1).
	AgeAdd uint32 `json:"-"`
}

// SessionIDKey is the session key of a TLS 1.2 session ID.
func SessionIDKey(id []byte) string { return "sid:" + hex.EncodeToString(id) }
