package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// scanLimit bounds the bytes searched, per direction, for the start of
// TLS: a STARTTLS preamble (SMTP, IMAP, POP3, FTP, XMPP, LDAP, PostgreSQL)
// is far shorter; a flow that has sent this much without a hello is not
// TLS.
const scanLimit = 16 << 10

// half is one direction of a TCP connection as reassembly delivers it.
type half struct {
	stream  tlsparse.Stream
	found   bool   // the start of TLS was located
	resync  bool   // after a gap: look for any plausible record header
	pre     []byte // bytes searched so far for the start, bounded by scanLimit
	next    int    // where in pre the search goes on
	scanned int
	failed  bool // unreadable: gave up on this direction
	gap     bool // bytes were lost in this direction
	sawData bool
	mid     bool // the half started without a SYN
}

// tlsConn is the state of one TCP connection while its handshake is read.
// Reassembly reaches it through a streamRef.
type tlsConn struct {
	t     *worker
	ref   *streamRef
	flow  *flowEntry
	id    int
	first time.Time

	halves [2]half // indexed by reassembly direction
	client int     // index of the half that sent the ClientHello, -1 if unknown
	server int

	chTS      time.Time
	ch        *clientHelloInfo
	chCount   int
	hrr       bool
	sh        *serverHelloInfo
	fullSeen  bool // Certificate, ServerKeyExchange, CertificateRequest or ServerHelloDone after the ServerHello
	serverCCS bool
	issued    []Issued
	history   []byte
	notes     []string
	alert     string
	helloSeen bool // a hello message was seen, parsed or not
	closing   bool // a FIN or RST was seen
	done      bool
}

// clientHelloInfo is what a ClientHello said, copied out of the buffers.
type clientHelloInfo struct {
	sessionID    []byte
	ticketExt    bool
	ticket       []byte // digest input is kept as a digest only
	ticketDigest string
	pskDigests   []string
	sni          string
	alpn         []string
	offersTLS13  bool
	sslv2        bool
	notes        []string
}

type serverHelloInfo struct {
	version   tlsparse.Version
	cipher    tlsparse.CipherSuite
	sessionID []byte
	hasPSK    bool
	selected  int
	alpn      string
	notes     []string
}

// Digest is the first 16 bytes of SHA-256 of b, in hex: how tickets and PSK
// identities are named.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func newTLSConn(t *worker, e *flowEntry, id int, ts time.Time) *tlsConn {
	c := &tlsConn{t: t, flow: e, id: id, first: ts, client: -1, server: -1}
	c.halves[0].stream.Msgs.Max = t.cfg.MaxMessage
	c.halves[1].stream.Msgs.Max = t.cfg.MaxMessage
	return c
}

// streamRef is what reassembly holds for a connection: reassembly keeps a
// stream until it has been idle for a while, and through streamRef a
// finished connection is freed at once.
type streamRef struct {
	c *tlsConn
	w *worker
	// flip is set when this reassembly connection's first packet came
	// from the flow's second sender: a connection reassembly let go of
	// (idle) and made anew sees its directions from its own first packet.
	flip, set bool
}

func (r *streamRef) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	if r.c == nil {
		return false
	}
	if !r.set {
		fromSrc := uint16(tcp.SrcPort) == r.c.flow.src.Port
		r.flip, r.set = (dir == reassembly.TCPDirClientToServer) != fromSrc, true
	}
	if r.flip {
		dir = dir.Reverse()
	}
	return r.c.accept(tcp, dir, nextSeq, start)
}

func (r *streamRef) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if r.c != nil {
		r.c.reassembled(sg, ac, r.flip)
	}
}

func (r *streamRef) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	if c := r.c; c != nil && (c.closing || c.t.closing) {
		c.finish()
	}
	// Reassembly lets go of a connection that was idle for a while, or
	// ended; one still being read comes back with its next segment.
	r.c = nil
	r.w.open--
	return true
}

func dirIndex(d reassembly.TCPFlowDirection) int {
	if d == reassembly.TCPDirServerToClient {
		return 1
	}
	return 0
}

// accept is reassembly's Accept, through streamRef. A direction whose SYN
// was not captured starts at its first segment, and is read from the first
// plausible record header on.
func (c *tlsConn) accept(tcp *layers.TCP, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool) bool {
	if c.done {
		return false
	}
	if nextSeq == -1 && !tcp.SYN && len(tcp.Payload) == 0 {
		// A stray ACK or RST must not anchor a direction that has not
		// started: only a SYN or data does.
		return false
	}
	if tcp.FIN || tcp.RST {
		c.closing = true
	}
	if !*start && nextSeq == -1 && !tcp.SYN {
		*start = true
		c.halves[dirIndex(dir)].mid = true
	}
	return true
}

// reassembled takes reassembled bytes; flip says the reassembly
// connection's directions are the flow's reversed.
func (c *tlsConn) reassembled(sg reassembly.ScatterGather, ac reassembly.AssemblerContext, flip bool) {
	if c.done {
		return
	}
	dir, _, _, skip := sg.Info()
	if flip {
		dir = dir.Reverse()
	}
	n, _ := sg.Lengths()
	if n == 0 {
		return
	}
	d := dirIndex(dir)
	h := &c.halves[d]
	if skip != 0 && (h.sawData || !h.mid) {
		// Bytes were lost: in the middle, or at the start of a direction
		// whose SYN was seen (its first byte is known).
		c.gap(d)
	}
	h.sawData = true
	c.data(d, sg.Fetch(n), ac.GetCaptureInfo().Timestamp)
}

// gap records lost bytes in direction d: the stream loses its record
// boundaries and is resynchronised at the next plausible record header.
func (c *tlsConn) gap(d int) {
	h := &c.halves[d]
	if !h.gap {
		c.note("gap")
		c.t.count.StreamGap++
	}
	h.gap = true
	h.resync = true
	if h.found {
		h.found = false
		h.stream.Records.Reset()
		h.stream.Msgs.Reset()
		h.pre, h.scanned, h.next = h.pre[:0], 0, 0
	}
}

// data takes reassembled bytes of direction d.
func (c *tlsConn) data(d int, b []byte, ts time.Time) {
	h := &c.halves[d]
	if h.failed {
		return
	}
	if !h.found {
		b = c.locate(d, b)
		if b == nil {
			return
		}
		if c.chTS.IsZero() {
			c.chTS = ts
		}
	}
	h.stream.Write(b)
	c.drain(d, ts)
}

// locate finds where TLS starts in direction d: at the first byte in the
// common case, after a plaintext preamble for STARTTLS, or, after a gap or
// without a SYN, at the first plausible record header. It returns the
// bytes from that point, or nil while still searching.
func (c *tlsConn) locate(d int, b []byte) []byte {
	h := &c.halves[d]
	if len(h.pre) == 0 && h.scanned == 0 && startsTLS(b, h.resync) {
		h.found = true
		return b
	}
	room := scanLimit - len(h.pre)
	if len(b) > room {
		b = b[:room]
	}
	h.pre = append(h.pre, b...)
	h.scanned += len(b)
	// Bytes before h.next were tried by an earlier call and cannot start
	// TLS whatever follows; j caches the next plausible record header at or
	// after from (len(h.pre): none), so that every byte is looked at a
	// bounded number of times.
	from, j := h.next, -1
	for {
		i := bytes.IndexByte(h.pre[from:], byte(tlsparse.RecordHandshake))
		if h.resync || h.mid {
			// Any record type may be where the stream picks up again.
			if j < from {
				j = len(h.pre)
				if r := indexRecordStart(h.pre[from:]); r >= 0 {
					j = from + r
				}
			}
			if j < len(h.pre) && (i < 0 || j < from+i) {
				i = j - from
			}
		}
		if i < 0 {
			// A header may still start in the last four bytes.
			h.next = max(from, len(h.pre)-tlsparse.RecordHeaderLen+1)
			break
		}
		k := from + i
		if startsTLS(h.pre[k:], h.resync || h.mid) {
			h.found = true
			if k > 0 && !h.resync && !h.mid {
				c.note("plaintext_preamble")
				c.t.count.PlaintextPreamble++
			}
			if h.mid {
				c.note("midstream")
			}
			out := h.pre[k:]
			h.pre, h.next = nil, 0
			return out
		}
		if len(h.pre)-k < 6 {
			// Maybe a header cut by the segment boundary: wait for more.
			h.next = k
			break
		}
		from = k + 1
	}
	if len(h.pre) >= scanLimit {
		h.failed = true
		h.pre = nil
		c.directionFailed(d)
	}
	return nil
}

// indexRecordStart finds the first byte that could start a record header
// (used only while resynchronising).
func indexRecordStart(b []byte) int {
	for i := 0; i+5 <= len(b); i++ {
		if tlsparse.PlausibleRecordHeader(b[i:]) {
			return i
		}
	}
	return -1
}

// startsTLS reports whether b starts with a handshake record that holds a
// ClientHello or ServerHello (or an SSLv2-compatible hello); with any set,
// a plausible record header of any type is enough, and its successor, when
// buffered, must be plausible too.
func startsTLS(b []byte, any bool) bool {
	if tlsparse.LooksLikeSSLv2Hello(b) && !any {
		return true
	}
	if !tlsparse.PlausibleRecordHeader(b) {
		return false
	}
	if any {
		n := tlsparse.RecordHeaderLen + (int(b[3])<<8 | int(b[4]))
		if len(b) >= n+tlsparse.RecordHeaderLen && !tlsparse.PlausibleRecordHeader(b[n:]) {
			return false
		}
		return true
	}
	if len(b) < 6 || b[0] != byte(tlsparse.RecordHandshake) {
		return false
	}
	// RFC 8446, Section 4: the first handshake message of each side.
	return b[5] == byte(tlsparse.TypeClientHello) || b[5] == byte(tlsparse.TypeServerHello)
}

// directionFailed is called when direction d has been searched to the
// limit without finding TLS, or became unreadable. The connection goes on
// while the other direction can still give the verdict.
func (c *tlsConn) directionFailed(d int) {
	other := &c.halves[1-d]
	switch {
	case other.failed:
		if c.ch == nil && c.sh == nil && !c.helloSeen {
			c.t.count.NotTLS++
			c.abandon()
			return
		}
		c.finish()
	case !c.halves[d].found && !other.found && c.ch == nil && c.sh == nil:
		// Searched to the limit, and the other side has shown no TLS
		// either: not TLS.
		c.t.count.NotTLS++
		c.abandon()
	case c.isServer(d) && c.ch != nil:
		// The server's direction holds the evidence, and no more of it
		// can be read.
		c.finish()
	}
}

// drain reads every complete event of direction d.
func (c *tlsConn) drain(d int, ts time.Time) {
	h := &c.halves[d]
	for !c.done {
		ev, err := h.stream.Next()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			c.streamError(d, err)
			return
		}
		c.event(d, ev, ts)
	}
}

func (c *tlsConn) streamError(d int, err error) {
	h := &c.halves[d]
	h.failed = true
	switch {
	case errors.Is(err, tlsparse.ErrTooLarge):
		c.t.count.Oversized++
		c.note("oversized")
	default:
		c.t.count.MalformedRecord++
		c.note("malformed_record")
	}
	c.directionFailed(d)
}

// role returns 'c' for the client's direction, 's' for the server's, '?'
// while unknown.
func (c *tlsConn) isServer(d int) bool {
	return c.server == d || (c.server < 0 && c.client >= 0 && c.client != d)
}

func (c *tlsConn) letter(d int, l byte) {
	if len(c.history) >= 64 {
		return
	}
	if !c.isServer(d) && l >= 'a' && l <= 'z' {
		l -= 'a' - 'A'
	}
	c.history = append(c.history, l)
}

// helloRetryRequestDraft is the HelloRetryRequest message type of TLS 1.3
// drafts before 22.
const helloRetryRequestDraft tlsparse.HandshakeType = 6

// historyLetters maps handshake messages to history letters (lower case;
// upper case when the client sent them).
var historyLetters = map[tlsparse.HandshakeType]byte{
	tlsparse.TypeHelloRequest:        'q',
	tlsparse.TypeClientHello:         'h',
	tlsparse.TypeServerHello:         'h',
	tlsparse.TypeNewSessionTicket:    't',
	tlsparse.TypeEncryptedExtensions: 'e',
	tlsparse.TypeCertificate:         'c',
	tlsparse.TypeServerKeyExchange:   'k',
	tlsparse.TypeCertificateRequest:  'r',
	tlsparse.TypeServerHelloDone:     'd',
	tlsparse.TypeCertificateVerify:   'v',
	tlsparse.TypeClientKeyExchange:   'k',
	tlsparse.TypeFinished:            'f',
	tlsparse.TypeCertificateStatus:   's',
}

func (c *tlsConn) event(d int, ev tlsparse.Event, ts time.Time) {
	switch ev.Kind {
	case tlsparse.EventMessage:
		c.message(d, ev.Msg)
	case tlsparse.EventSSLv2Hello:
		ch, err := tlsparse.ParseSSLv2Hello(ev.Record.Fragment)
		if err != nil {
			c.t.count.MalformedHello++
			c.note("malformed_client_hello")
			return
		}
		c.clientHello(d, ch)
	case tlsparse.EventChangeCipherSpec:
		c.letter(d, 'x')
		if c.sh != nil && !c.sh.version.IsTLS13() {
			// RFC 5246, Section 7.1: records after ChangeCipherSpec are
			// protected.
			c.halves[d].stream.Encrypted = true
			if c.isServer(d) {
				c.serverCCS = true
				c.finish()
			}
		}
	case tlsparse.EventEncryptedHandshake:
		c.letter(d, 'f')
	case tlsparse.EventAlert:
		c.letter(d, 'a')
		if c.sh == nil || !c.sh.version.IsTLS13() {
			if ev.AlertOK && ev.Alert[0] == 2 {
				c.alert = fmt.Sprintf("alert_%d", ev.Alert[1])
			}
			if c.isServer(d) || (ev.AlertOK && ev.Alert[0] == 2) {
				c.finish()
			}
		}
	case tlsparse.EventApplicationData:
		if c.sh == nil && c.ch != nil && c.isServer(d) {
			c.note("application_data_before_server_hello")
		}
	}
}

func (c *tlsConn) message(d int, m tlsparse.Message) {
	if l, ok := historyLetters[m.Type]; ok {
		if m.Type == tlsparse.TypeClientHello {
			c.client = d
			if c.server < 0 {
				c.server = 1 - d
			}
		}
		if m.Type == tlsparse.TypeServerHello {
			c.server = d
			if c.client < 0 {
				c.client = 1 - d
			}
		}
		c.letter(d, l)
	} else {
		c.letter(d, 'u')
	}
	switch m.Type {
	case helloRetryRequestDraft:
		// draft-ietf-tls-tls13-21 and earlier: HelloRetryRequest was a
		// message of its own.
		c.hrr = true
		c.history[len(c.history)-1] = 'r'
	case tlsparse.TypeClientHello:
		c.helloSeen = true
		ch, err := tlsparse.ParseClientHello(m.Body)
		if err != nil {
			c.t.count.MalformedHello++
			c.note("malformed_client_hello")
			return
		}
		c.clientHello(d, ch)
	case tlsparse.TypeServerHello:
		c.helloSeen = true
		sh, err := tlsparse.ParseServerHello(m.Body)
		if err != nil {
			c.t.count.MalformedHello++
			c.note("malformed_server_hello")
			return
		}
		c.serverHello(sh)
	case tlsparse.TypeNewSessionTicket:
		if c.sh == nil || c.sh.version.IsTLS13() {
			return
		}
		nst, err := tlsparse.ParseNewSessionTicket(m.Body)
		if err != nil {
			c.t.count.MalformedTicket++
			c.note("malformed_new_session_ticket")
			return
		}
		if len(nst.Ticket) > 0 {
			c.issued = append(c.issued, Issued{Kind: "ticket", Digest: Digest(nst.Ticket), Length: len(nst.Ticket),
				LifetimeHint: int64(nst.LifetimeHint), KeyHint: keyHint(nst.Ticket)})
		}
	case tlsparse.TypeCertificate, tlsparse.TypeServerKeyExchange, tlsparse.TypeCertificateRequest, tlsparse.TypeServerHelloDone:
		if c.isServer(d) && c.sh != nil {
			c.fullSeen = true
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

func (c *tlsConn) clientHello(d int, ch *tlsparse.ClientHello) {
	c.client = d
	if c.server < 0 {
		c.server = 1 - d
	}
	c.chCount++
	if c.ch != nil && !c.hrr {
		c.note("repeated_client_hello")
		return
	}
	info := &clientHelloInfo{
		sessionID:   bytes.Clone(ch.SessionID),
		ticketExt:   ch.SessionTicketExt,
		sni:         ch.ServerName,
		alpn:        ch.ALPN,
		offersTLS13: ch.OffersTLS13(),
		sslv2:       ch.SSLv2,
		notes:       ch.Notes,
	}
	if len(ch.SessionTicket) > 0 {
		info.ticketDigest = Digest(ch.SessionTicket)
	}
	for _, id := range ch.PSKIdentities {
		info.pskDigests = append(info.pskDigests, Digest(id))
	}
	c.ch = info
}

func (c *tlsConn) serverHello(sh *tlsparse.ServerHello) {
	if sh.HelloRetryRequest {
		// RFC 8446, Section 4.1.4: a second ClientHello follows; judge on
		// the second pair.
		c.hrr = true
		c.history[len(c.history)-1] = 'r'
		return
	}
	if c.sh != nil {
		c.note("repeated_server_hello")
		return
	}
	c.sh = &serverHelloInfo{
		version:   sh.Negotiated(),
		cipher:    sh.CipherSuite,
		sessionID: bytes.Clone(sh.SessionID),
		hasPSK:    sh.HasPSK,
		selected:  sh.SelectedIdentity,
		alpn:      sh.ALPN,
		notes:     sh.Notes,
	}
	if c.sh.version.IsTLS13() {
		// Everything after the ServerHello is encrypted (RFC 8446,
		// Section 2): the verdict is known now.
		c.finish()
	}
}

func (c *tlsConn) note(n string) {
	for _, x := range c.notes {
		if x == n {
			return
		}
	}
	c.notes = append(c.notes, n)
}

// abandon drops a connection that turned out not to be TLS.
func (c *tlsConn) abandon() {
	if c.done {
		return
	}
	c.done = true
	c.t.connDone(c, nil)
	c.release()
}

// release drops the buffers of a finished connection: reassembly keeps the
// connection itself until it has been idle for a while.
func (c *tlsConn) release() {
	if c.ref != nil {
		c.ref.c = nil
	}
	c.halves = [2]half{}
	c.ch, c.sh, c.history, c.issued, c.notes = nil, nil, nil, nil, nil
}

// finish ends the reading of the handshake and hands the observation on.
func (c *tlsConn) finish() {
	if c.done {
		return
	}
	c.done = true
	if c.ch == nil && c.sh == nil && !c.helloSeen {
		if c.halves[0].found || c.halves[1].found {
			c.t.count.NoHello++
		} else if c.halves[0].sawData || c.halves[1].sawData {
			c.t.count.NotTLS++
		}
		c.t.connDone(c, nil)
		c.release()
		return
	}
	c.t.connDone(c, c.observation())
	c.release()
}
