package flows

import (
	"errors"
	"io"

	"github.com/tlsresume/tlsresume/keylog"
	"github.com/tlsresume/tlsresume/quic"
	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// quicKeys reads, with the key log's secrets, what a QUIC server sends
// after its ServerHello, as serverFlight13 does for TLS over TCP: its
// Handshake packets (EncryptedExtensions: 0-RTT accepted; Certificate or
// not; Finished) and its 1-RTT packets up to its NewSessionTickets
// (RFC 9001, Section 4.1.4: TLS messages go in CRYPTO frames of the
// packet number space of their epoch). Each space has a CRYPTO stream of
// its own, from offset 0 (RFC 9000, Section 19.6). The client's
// direction is not read: it sends nothing the verdict needs.
//
// Keys (RFC 9001, Section 5.1): quic.NewKeys from
// SERVER_HANDSHAKE_TRAFFIC_SECRET and SERVER_TRAFFIC_SECRET_0, for the
// ServerHello's cipher suite and the connection's version ("quic key" or
// "quicv2 key"); the 1-RTT Opener follows key updates (Section 6).
// STREAM and DATAGRAM frames are skipped unread.
type quicKeys struct {
	hs, app *quic.Opener // the server's Handshake and 1-RTT packets; app is nil without SERVER_TRAFFIC_SECRET_0
	crypto  [2]quic.CryptoStream
	msgs    [2]tlsparse.Assembler
	n       int  // server packets opened
	bytes   int  // their bytes
	hsDone  bool // the server's Finished was read

	ee, earlyAccepted, cert bool
	tickets                 []verdict.Issued
	failed                  bool
}

// The packet number spaces whose CRYPTO streams are read with keys.
const (
	spaceHandshake = 0
	space1RTT      = 1
)

// startKeys starts reading the server's Handshake and 1-RTT packets with
// the connection's secrets, at its ServerHello. It reports false when the
// key log lacks the server's handshake secret, or the suite or version
// has no QUIC keys: the verdict is then given at the ServerHello.
func (q *quicConn) startKeys(suite tlsparse.CipherSuite, s keylog.Secrets) bool {
	hsSecret, ok := s.Get(keylog.ServerHandshakeTrafficSecret)
	if !ok {
		return false
	}
	k, err := quic.NewKeys(q.version, quic.Suite(suite), hsSecret)
	if err != nil {
		return false
	}
	qk := &quicKeys{hs: quic.NewOpener(k)}
	qk.hs.ShareBuffer(&q.c.w.udp.buf)
	if app, ok := s.Get(keylog.ServerTrafficSecret0); ok {
		if k, err := quic.NewKeys(q.version, quic.Suite(suite), app); err == nil {
			qk.app = quic.NewOpener(k)
			qk.app.ShareBuffer(&q.c.w.udp.buf)
		}
	}
	for i := range qk.msgs {
		qk.msgs[i].Keep = kept13
		qk.msgs[i].Max = q.c.w.cfg.MaxMessage
	}
	q.keys = qk
	return true
}

// handshakePacket opens a Handshake packet of the server (RFC 9000,
// Section 17.2.4) and reads its CRYPTO frames. Once the server's Finished
// is read, its Handshake packets (acknowledgements, retransmissions) are
// not opened.
func (q *quicConn) handshakePacket(pkt *quic.Packet) {
	k := q.keys
	if k.hsDone || pkt.Version != q.version {
		return
	}
	payload, _, err := k.hs.Open(pkt)
	if !q.opened(len(pkt.Raw), err, true) {
		return
	}
	q.keyFrames(spaceHandshake, payload, quic.FramesHandshake)
	q.bounded()
}

// shortPacket opens a 1-RTT packet of the server (RFC 9000, Section
// 17.3.1). Its Destination Connection ID is one the client chose: the
// Source Connection ID of its first Initial gives the length (the
// header does not). The reading is over at the first 1-RTT packet
// without CRYPTO frames after a ticket: the server has gone on to
// application data, as after its tickets over TCP.
func (q *quicConn) shortPacket(p []byte) {
	k := q.keys
	if k.app == nil || p[0] == 0 {
		// Zero bytes after a datagram's long-header packets pad it (some
		// servers pad their first datagram so): not a packet.
		return
	}
	pkt, err := quic.ParseShort(p, q.scidLen)
	if err != nil && len(p) > 1+q.scidLen && p[0]&0x40 == 0 {
		// RFC 9287, Section 3: a server may grease the fixed bit of its
		// packets to a client that sent grease_quic_bit; ParseShort
		// refuses it, the AEAD still checks the packet.
		pkt, err = quic.Packet{Type: quic.PacketShort, DCID: p[1 : 1+q.scidLen], Raw: p, PNOffset: 1 + q.scidLen}, nil
	}
	if err != nil {
		q.c.w.count.QUICMalformed++
		return
	}
	payload, _, err := k.app.Open(&pkt)
	if !q.opened(len(p), err, false) {
		return
	}
	if !q.keyFrames(space1RTT, payload, quic.FramesAll) && len(k.tickets) > 0 {
		q.c.finish()
		return
	}
	q.bounded()
}

// opened counts a server packet opened with the key log's keys and
// reports whether it was. A Handshake packet that does not open ends the
// reading (fatal), as a record that does not over TCP: the keys are
// wrong, and the connection keeps its keyless verdict. A 1-RTT packet
// that does not open is counted and skipped: once the Handshake packets
// opened, it is more likely junk after a datagram's packets, or a
// stateless reset (RFC 9000, Section 10.3), than a wrong secret.
func (q *quicConn) opened(n int, err error, fatal bool) bool {
	k, h := q.keys, q.c.hs
	if err != nil {
		h.count.DecryptFailures++
		h.note(verdict.NoteDecryptFailed)
		if fatal {
			k.failed = true
			q.c.finish()
		}
		return false
	}
	h.count.RecordsDecrypted++
	k.n++
	k.bytes += n
	return true
}

// bounded ends the reading past the bounds of a server flight: packets
// and bytes after the ServerHello (maxDecryptRecords, maxDecryptBytes).
func (q *quicConn) bounded() {
	if k := q.keys; k != nil && (k.n >= maxDecryptRecords || k.bytes >= maxDecryptBytes) {
		q.c.finish()
	}
}

// keyFrames reads the CRYPTO frames of a decrypted payload of space sp
// and reports whether there were any. A CONNECTION_CLOSE ends the
// reading.
func (q *quicConn) keyFrames(sp int, payload []byte, mode quic.FrameMode) bool {
	k, count := q.keys, &q.c.w.count
	any := false
	q.frames.Reset(payload, mode)
	for q.c.state == stateReading {
		f, err := q.frames.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			count.QUICMalformed++
			break
		}
		any = true
		if err := k.crypto[sp].Push(f.Offset, f.Data); err != nil {
			count.CryptoRejected++
			continue
		}
		q.keyDrain(sp)
		if q.c.state == stateReading {
			k.crypto[sp].Release()
		}
	}
	if q.frames.Close.Seen {
		// RFC 9000, Section 10.2: the server closes the connection.
		q.c.finish()
	}
	return any
}

// keyDrain hands the contiguous CRYPTO bytes of space sp to its
// assembler, and reads the messages.
func (q *quicConn) keyDrain(sp int) {
	k := q.keys
	for b := k.crypto[sp].Read(); b != nil && q.c.state == stateReading; b = k.crypto[sp].Read() {
		k.msgs[sp].Write(b)
		for q.c.state == stateReading {
			m, err := k.msgs[sp].Next()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				k.failed = true
				q.c.finish()
				return
			}
			q.keyMessage(sp, m)
		}
	}
}

// keyMessage takes one decrypted handshake message of the server.
func (q *quicConn) keyMessage(sp int, m tlsparse.Message) {
	h, k := q.c.hs, q.keys
	if l, ok := historyLetters[m.Type]; ok {
		h.letter(h.server, l)
	} else {
		h.letter(h.server, 'u')
	}
	switch m.Type {
	case tlsparse.TypeEncryptedExtensions:
		k.ee = true
		k.earlyAccepted = earlyDataAccepted(m.Body)
	case tlsparse.TypeCertificate:
		k.cert = true
	case tlsparse.TypeFinished:
		// RFC 9001, Section 4.1.4: the server's Finished ends its
		// Handshake flight; its tickets come in 1-RTT packets.
		if sp == spaceHandshake {
			k.hsDone = true
			if k.app == nil {
				q.c.finish()
			}
		}
	case tlsparse.TypeNewSessionTicket:
		// RFC 9001, Section 4.6.1: tickets are sent in 1-RTT CRYPTO
		// frames.
		if is, ok := h.ticket13(m.Body); ok {
			k.tickets = append(k.tickets, is)
		}
	}
}

// keyFacts copies what the decryption showed into the observation.
func (k *quicKeys) keyFacts(ob *verdict.Observation) {
	ob.EncryptedExtensions, ob.EarlyDataAccepted, ob.Certificate = k.ee, k.earlyAccepted, k.cert
	ob.DecryptFailed = k.failed
	ob.Tickets = append(ob.Tickets, k.tickets...)
}
