package verdict

import (
	"time"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// Observation is what the handshake reader saw of one connection, in the
// order of its messages, copied out of the packet buffers. It depends on
// this connection alone, never on what other connections did, so the
// workers of package flows can build it in parallel.
type Observation struct {
	ID             int       // the connection's id in the capture
	TS             time.Time // capture time of the ClientHello (or of the first TLS byte)
	Transport      Transport
	Client, Server Endpoint
	// ClientHelloFrame and ServerHelloFrame are the frames (1-based, as
	// Wireshark numbers them) whose bytes completed the hellos judged; 0
	// when not seen.
	ClientHelloFrame, ServerHelloFrame uint64
	History                            string // one letter per handshake message or record
	Notes                              []Note // anomalies seen while reading, in order, each once

	// ClientHello, when one was read (after a HelloRetryRequest, the
	// second).
	ClientHello bool
	SNI         string
	ALPN        []string
	// ClientSessionID is the legacy_session_id, hex ("" when empty).
	ClientSessionID string
	// Ticket is the digest of a non-empty session_ticket extension ("" when
	// none was offered).
	Ticket string
	// TicketSupport: the ClientHello carried a session_ticket extension,
	// empty (announcing support, RFC 5077, Section 3.2) or not.
	TicketSupport bool
	// PSKs are the digests of the pre_shared_key identities, in order,
	// and PSKAges their obfuscated_ticket_age values.
	PSKs    []string
	PSKAges []uint32
	// JA3 (its MD5, hex) and JA4 of the ClientHello.
	JA3, JA4 string
	// EarlyData: the ClientHello offered 0-RTT (early_data, RFC 8446,
	// Section 4.2.10).
	EarlyData bool

	// QUIC only: the version of the Initials, whether a Retry was
	// accepted, and how many 0-RTT packets the client sent before the
	// verdict.
	QUICVersion    uint32
	Retry          bool
	ZeroRTTPackets int

	// ServerHello, when one was read.
	ServerHello     bool
	Version         tlsparse.Version // negotiated (supported_versions, else the hello's version)
	Cipher          tlsparse.CipherSuite
	ServerSessionID string // hex
	// HasPSK: the ServerHello carried pre_shared_key, selecting
	// SelectedPSK.
	HasPSK      bool
	SelectedPSK int

	// FullFlight: the server sent Certificate, ServerKeyExchange,
	// CertificateRequest or ServerHelloDone after its ServerHello.
	FullFlight bool
	// ServerCCS: the server sent ChangeCipherSpec (TLS 1.2 and older).
	ServerCCS bool
	// ServerGap: bytes of the server's direction were lost before the
	// verdict, so an absence (no Certificate) proves nothing.
	ServerGap bool
	// Tickets are the NewSessionTickets the server sent: TLS 1.2 ones in
	// the clear, TLS 1.3 ones (kind psk) decrypted with the key log.
	Tickets []Issued

	// With the key log (TLS 1.3): Keys says the connection's secrets were
	// found; the rest is what the decrypted server flight showed.
	Keys                bool
	EarlyDataAccepted   bool // EncryptedExtensions carried early_data
	EncryptedExtensions bool
	Certificate         bool // the server sent a Certificate
	RecordsDecrypted    int
	DecryptFailed       bool
}

// TLS13 reports whether the server negotiated TLS 1.3.
func (ob *Observation) TLS13() bool { return ob.ServerHello && ob.Version.IsTLS13() }
