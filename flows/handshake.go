package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/dtls"
	"github.com/tlsresume/tlsresume/fingerprint"
	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// handshake reads one connection's TLS handshake, whatever carried it: the
// transport hands it events (records and handshake messages, per
// direction) and it keeps what the verdict needs, copied out of the
// transport's buffers. When the verdict can be known it tells the worker
// (worker.finish), which builds the observation. It runs on the worker
// goroutine that owns the connection.
type handshake struct {
	c         *conn
	count     *Counters
	transport verdict.Transport
	// retried: the client starts its handshake again (after a QUIC Retry
	// or a DTLS HelloVerifyRequest): its next ClientHello replaces the
	// first.
	retried bool

	client int // index of the direction that sent the ClientHello, -1 if unknown
	server int
	// frame is the frame whose bytes the transport is handing over;
	// chFrame and shFrame those that completed the hellos.
	frame, chFrame, shFrame uint64

	chTS      time.Time
	ch        *clientHelloInfo
	hrr       bool
	sh        *serverHelloInfo
	fullSeen  bool // Certificate, ServerKeyExchange, CertificateRequest or ServerHelloDone after the ServerHello
	serverCCS bool
	issued    []verdict.Issued
	history   []byte
	notes     []verdict.Note
	alert     verdict.Note
	helloSeen bool    // a hello message was seen, parsed or not
	gap       [2]bool // bytes were lost in this direction
	// keysFound: the key log has this connection's secrets; flight
	// decrypts the TLS 1.3 server flight with them.
	keysFound bool
	flight    *serverFlight13
	started   bool // the start of TLS was found in a direction
	sawData   bool // the transport carried payload
}

// clientHelloInfo is what a ClientHello said, copied out of the buffers.
type clientHelloInfo struct {
	random       [32]byte
	pskAges      []uint32
	sessionID    []byte
	ticketDigest string
	ticketExt    bool
	pskDigests   []string
	sni          string
	alpn         []string
	sslv2        bool
	earlyData    bool
	ja3, ja4     string
	notes        []string
}

type serverHelloInfo struct {
	version   tlsparse.Version
	cipher    tlsparse.CipherSuite
	sessionID []byte
	hasPSK    bool
	selected  int
	notes     []string
}

// Digest is the first 16 bytes of SHA-256 of b, in hex: how tickets and PSK
// identities are named.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func newHandshake(c *conn, count *Counters, tr verdict.Transport) *handshake {
	return &handshake{c: c, count: count, transport: tr, client: -1, server: -1}
}

// done reports whether the reading is over.
func (h *handshake) done() bool { return h.c.state == stateDone }

// isServer reports whether direction d is the server's (also while only
// the client's direction is known).
func (h *handshake) isServer(d int) bool {
	return h.server == d || (h.server < 0 && h.client >= 0 && h.client != d)
}

// tls12 reports whether a TLS 1.2-or-older ServerHello was read: records
// after a ChangeCipherSpec are then protected (RFC 5246, Section 7.1).
func (h *handshake) tls12() bool { return h.sh != nil && !h.sh.version.IsTLS13() }

func (h *handshake) letter(d int, l byte) {
	if len(h.history) >= 64 {
		return
	}
	if !h.isServer(d) && l >= 'a' && l <= 'z' {
		l -= 'a' - 'A'
	}
	h.history = append(h.history, l)
}

func (h *handshake) note(n verdict.Note) {
	if !slices.Contains(h.notes, n) {
		h.notes = append(h.notes, n)
	}
}

// lost records that bytes of direction d were lost.
func (h *handshake) lost(d int) {
	if !h.gap[d] {
		h.note(verdict.NoteGap)
		h.count.StreamGap++
	}
	h.gap[d] = true
}

// helloRetryRequestDraft is the HelloRetryRequest message type of TLS 1.3
// drafts before 22.
const helloRetryRequestDraft tlsparse.HandshakeType = 6

// historyLetters maps handshake messages to history letters (lower case;
// upper case when the client sent them).
var historyLetters = map[tlsparse.HandshakeType]byte{
	tlsparse.TypeHelloRequest:        'p',
	tlsparse.TypeClientHello:         'h',
	tlsparse.TypeServerHello:         'h',
	tlsparse.TypeNewSessionTicket:    't',
	tlsparse.TypeEncryptedExtensions: 'e',
	tlsparse.TypeCertificate:         'c',
	tlsparse.TypeServerKeyExchange:   'k',
	tlsparse.TypeCertificateRequest:  'q',
	tlsparse.TypeServerHelloDone:     'd',
	tlsparse.TypeCertificateVerify:   'v',
	tlsparse.TypeClientKeyExchange:   'k',
	tlsparse.TypeFinished:            'f',
	tlsparse.TypeCertificateStatus:   's',
	tlsparse.TypeHelloVerifyRequest:  'y',
}

// event takes one event of direction d. It reports whether the records
// that follow in d are protected (after a TLS 1.2 ChangeCipherSpec), for
// the transport to stop reading them as plaintext.
func (h *handshake) event(d int, ev tlsparse.Event) (protected bool) {
	switch ev.Kind {
	case tlsparse.EventMessage:
		h.message(d, ev.Msg)
	case tlsparse.EventSSLv2Hello:
		ch, err := tlsparse.ParseSSLv2Hello(ev.Record.Fragment)
		if err != nil {
			h.count.MalformedHello++
			h.note(verdict.NoteMalformedClientHello)
			return false
		}
		h.clientHello(d, ch)
	case tlsparse.EventChangeCipherSpec:
		if h.flight != nil {
			// TLS 1.3's compatibility ChangeCipherSpec (RFC 8446,
			// Appendix D.4), while the server's flight is decrypted: not
			// in the history, which stays what it is without keys.
			return false
		}
		h.letter(d, 'x')
		if h.tls12() {
			// RFC 5246, Section 7.1: records after ChangeCipherSpec are
			// protected; the server's CCS ends its handshake flight.
			if h.isServer(d) {
				h.serverCCS = true
				h.c.finish()
			}
			return true
		}
	case tlsparse.EventEncryptedHandshake:
		h.letter(d, 'f')
	case tlsparse.EventAlert:
		h.letter(d, 'a')
		if h.sh == nil || !h.sh.version.IsTLS13() {
			// RFC 5246, Section 7.2: a fatal alert (level 2) ends the
			// connection.
			if ev.AlertOK && ev.Alert[0] == 2 {
				h.alert = verdict.AlertNote(ev.Alert[1])
			}
			if h.isServer(d) || (ev.AlertOK && ev.Alert[0] == 2) {
				h.c.finish()
			}
		}
	case tlsparse.EventApplicationData:
		if h.sh == nil && h.ch != nil && h.isServer(d) {
			h.note(verdict.NoteAppDataBeforeServerHello)
		}
		if h.flight != nil && h.isServer(d) && h.flight.record(ev.Record.Fragment) {
			h.c.finish()
		}
	}
	return false
}

func (h *handshake) message(d int, m tlsparse.Message) {
	if l, ok := historyLetters[m.Type]; ok {
		if m.Type == tlsparse.TypeClientHello {
			h.client = d
			if h.server < 0 {
				h.server = 1 - d
			}
		}
		if m.Type == tlsparse.TypeServerHello {
			h.server = d
			if h.client < 0 {
				h.client = 1 - d
			}
		}
		h.letter(d, l)
	} else {
		h.letter(d, 'u')
	}
	switch m.Type {
	case helloRetryRequestDraft:
		// draft-ietf-tls-tls13-21 and earlier: HelloRetryRequest was a
		// message of its own.
		h.hrr = true
		h.history[len(h.history)-1] = 'r'
	case tlsparse.TypeHelloVerifyRequest:
		// RFC 6347, Section 4.2.1: the server asks for a cookie; the
		// client sends its ClientHello again, with the cookie, and that
		// is the one to judge.
		if h.transport == verdict.DTLS {
			h.retried = true
			h.note(verdict.NoteHelloVerifyRequest)
		}
	case tlsparse.TypeClientHello:
		h.helloSeen = true
		if h.ch == nil || h.hrr || h.retried {
			h.chFrame = h.frame // also for a hello that does not parse
		}
		body := m.Body
		if h.transport == verdict.DTLS {
			// RFC 6347, Section 4.2.1: a cookie after the session ID.
			tlsBody, _, err := dtls.ClientHelloTLS(body)
			if err != nil {
				h.count.MalformedHello++
				h.note(verdict.NoteMalformedClientHello)
				return
			}
			body = tlsBody
		}
		ch, err := tlsparse.ParseClientHello(body)
		if err != nil {
			h.count.MalformedHello++
			h.note(verdict.NoteMalformedClientHello)
			return
		}
		h.clientHello(d, ch)
	case tlsparse.TypeServerHello:
		h.helloSeen = true
		if h.sh == nil {
			h.shFrame = h.frame // also for a hello that does not parse; a HelloRetryRequest is replaced by the ServerHello
		}
		sh, err := tlsparse.ParseServerHello(m.Body)
		if err != nil {
			h.count.MalformedHello++
			h.note(verdict.NoteMalformedServerHello)
			return
		}
		h.serverHello(sh)
	case tlsparse.TypeNewSessionTicket:
		// RFC 5077, Section 3.3: a TLS 1.2 ticket is sent in the clear
		// before the server's ChangeCipherSpec. In TLS 1.3 it is
		// encrypted.
		if h.sh == nil || h.sh.version.IsTLS13() {
			return
		}
		nst, err := tlsparse.ParseNewSessionTicket(m.Body)
		if err != nil {
			h.count.MalformedTicket++
			h.note(verdict.NoteMalformedTicket)
			return
		}
		if len(nst.Ticket) > 0 {
			h.issued = append(h.issued, verdict.Issued{Kind: verdict.IssuedTicket, Digest: Digest(nst.Ticket), Length: len(nst.Ticket),
				LifetimeHint: int64(nst.LifetimeHint), KeyHint: keyHint(nst.Ticket)})
		}
	case tlsparse.TypeCertificate, tlsparse.TypeServerKeyExchange, tlsparse.TypeCertificateRequest, tlsparse.TypeServerHelloDone:
		if h.isServer(d) && h.sh != nil {
			h.fullSeen = true
		}
	}
}

// keyHint is the ticket's first 16 bytes: OpenSSL and GnuTLS put their
// ticket key name there. A heuristic, never used to link.
func keyHint(ticket []byte) string {
	if len(ticket) < 32 {
		return ""
	}
	return hex.EncodeToString(ticket[:16])
}

func (h *handshake) clientHello(d int, ch *tlsparse.ClientHello) {
	h.client = d
	if h.server < 0 {
		h.server = 1 - d
	}
	if h.ch != nil && !h.hrr && !h.retried {
		h.note(verdict.NoteRepeatedClientHello)
		return
	}
	retried := h.retried
	h.retried = false
	info := &clientHelloInfo{
		pskAges:   ch.PSKAges,
		sessionID: bytes.Clone(ch.SessionID),
		sni:       ch.ServerName,
		alpn:      ch.ALPN,
		sslv2:     ch.SSLv2,
		earlyData: ch.EarlyData,
		notes:     ch.Notes,
		ticketExt: ch.SessionTicketExt,
	}
	if len(ch.SessionTicket) > 0 {
		info.ticketDigest = Digest(ch.SessionTicket)
	}
	copy(info.random[:], ch.Random)
	for _, id := range ch.PSKIdentities {
		info.pskDigests = append(info.pskDigests, Digest(id))
	}
	_, info.ja3 = fingerprint.JA3(ch)
	info.ja4 = fingerprint.JA4(ch, ja4Protocol(h.transport))
	if h.ch == nil || h.hrr || retried || h.chFrame == 0 {
		h.chFrame = h.frame
	}
	h.ch = info
}

func (h *handshake) serverHello(sh *tlsparse.ServerHello) {
	if sh.HelloRetryRequest {
		// RFC 8446, Section 4.1.4: a second ClientHello follows; judge on
		// the second pair.
		h.hrr = true
		h.history[len(h.history)-1] = 'r'
		return
	}
	if h.sh != nil {
		h.note(verdict.NoteRepeatedServerHello)
		return
	}
	h.sh = &serverHelloInfo{
		version:   sh.Negotiated(),
		cipher:    sh.CipherSuite,
		sessionID: bytes.Clone(sh.SessionID),
		hasPSK:    sh.HasPSK,
		selected:  sh.SelectedIdentity,
		notes:     sh.Notes,
	}
	if h.sh.version.IsTLS13() {
		// Everything after the ServerHello is encrypted (RFC 8446,
		// Section 2): the verdict is known now, unless the key log lets
		// the server's flight be read, up to its tickets.
		if h.startFlight() {
			return
		}
		h.c.finish()
	}
}

// startFlight looks the connection up in the key log at a TLS 1.3
// ServerHello, and starts decrypting the server's flight when its secrets
// are there: TLS records over TCP (decrypt.go), QUIC's Handshake and
// 1-RTT packets (quic_keys.go). DTLS is not decrypted.
func (h *handshake) startFlight() bool {
	keys := h.c.w.cfg.Keys
	if keys == nil || h.ch == nil || (h.transport != verdict.TCP && h.transport != verdict.QUIC) {
		return false
	}
	s, ok := keys.Lookup(h.ch.random)
	if !ok {
		return false
	}
	h.keysFound = true
	h.count.ConnsWithKeys++
	if q, ok := h.c.stream.(*quicConn); ok {
		return q.startKeys(h.sh.cipher, s)
	}
	h.flight = newServerFlight13(h, h.sh.cipher, s)
	return h.flight != nil
}

// hasHello reports whether a hello was seen, parsed or not: without one
// there is no verdict to give.
func (h *handshake) hasHello() bool { return h.ch != nil || h.sh != nil || h.helloSeen }

// observation is what the connection showed, for the verdict.
func (h *handshake) observation() *verdict.Observation {
	ob := &verdict.Observation{ID: h.c.id, TS: h.chTS.UTC(), Transport: h.transport, History: string(h.history), SelectedPSK: -1}
	ob.Client, ob.Server = h.c.endpoints()
	// Direction 0 is the sender of the connection's first packet.
	if h.client == 1 || (h.client < 0 && h.server == 0) {
		ob.Client, ob.Server = ob.Server, ob.Client
	}
	if h.hrr {
		h.note(verdict.NoteHelloRetryRequest)
	}
	if h.alert != "" {
		h.note(h.alert)
	}
	if ch := h.ch; ch != nil {
		ob.ClientHello = true
		ob.SNI, ob.ALPN = ch.sni, ch.alpn
		ob.JA3, ob.JA4 = ch.ja3, ch.ja4
		ob.EarlyData = ch.earlyData
		ob.ClientSessionID = hex.EncodeToString(ch.sessionID)
		ob.Ticket, ob.TicketSupport = ch.ticketDigest, ch.ticketExt
		ob.PSKs, ob.PSKAges = ch.pskDigests, ch.pskAges
		for _, n := range ch.notes {
			h.note(verdict.Note(n))
		}
		if ch.sslv2 {
			h.note(verdict.NoteSSLv2ClientHello)
		}
	} else {
		h.note(verdict.NoteClientHelloMissing)
	}
	if sh := h.sh; sh != nil {
		for _, n := range sh.notes {
			h.note(verdict.Note(n))
		}
		ob.ServerHello = true
		ob.Version, ob.Cipher = sh.version, sh.cipher
		ob.ServerSessionID = hex.EncodeToString(sh.sessionID)
		ob.HasPSK = sh.hasPSK
		if sh.hasPSK {
			ob.SelectedPSK = sh.selected
		}
		ob.FullFlight, ob.ServerCCS = h.fullSeen, h.serverCCS
		ob.ServerGap = h.server >= 0 && h.gap[h.server]
		ob.Tickets = h.issued
	} else if h.ch != nil {
		h.note(verdict.NoteServerHelloMissing)
	}
	ob.ClientHelloFrame, ob.ServerHelloFrame = h.chFrame, h.shFrame
	ob.Keys = h.keysFound
	if h.flight != nil {
		h.flight.facts(ob)
	}
	ob.Notes = h.notes
	return ob
}

// ja4Protocol is JA4's first letter for the transport.
func ja4Protocol(tr verdict.Transport) byte {
	switch tr {
	case verdict.QUIC:
		return fingerprint.QUIC
	case verdict.DTLS:
		return fingerprint.DTLS
	}
	return fingerprint.TCP
}
