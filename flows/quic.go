package flows

import (
	"bytes"
	"errors"
	"io"

	"github.com/tlsresume/tlsresume/quic"
	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// quicConn is the QUIC state of one connection while its handshake is
// read: the Initial keys (RFC 9001, Section 5.2: derived from the
// client's first Destination Connection ID, or a Retry's Source
// Connection ID), and per direction the CRYPTO stream of the Initial
// packet number space and the handshake messages it carries. Direction 0
// is the client: a QUIC flow starts at the client's first Initial. With
// the key log, keys reads the server's Handshake and 1-RTT packets
// (quic_keys.go).
type quicConn struct {
	c       *conn
	version quic.Version
	odcid   []byte // the client's original Destination Connection ID
	keyDCID []byte // the DCID the Initial keys come from
	open    [2]*quic.Opener
	crypto  [2]quic.CryptoStream
	msgs    [2]tlsparse.Assembler
	frames  quic.FrameReader
	retry   bool // a Retry was accepted: the keys come from its SCID
	zeroRTT int  // 0-RTT packets the client sent
	vn      bool // the server sent Version Negotiation
	scidLen int  // the length of the Source Connection ID of the client's first Initial
	keys    *quicKeys
	// early holds copies of the server's Handshake packets captured
	// before its ServerHello (datagrams reordered on the way), while the
	// key log holds secrets: they are opened once the ServerHello gives
	// the keys.
	early      [][]byte
	earlyBytes int
}

// Bounds of the server Handshake packets kept before the ServerHello.
const (
	maxEarlyHandshake      = 4
	maxEarlyHandshakeBytes = 8 << 10
)

// datagram takes one UDP payload of direction d: every coalesced packet
// in it (RFC 9000, Section 12.2), up to a short header, whose length the
// header does not give: it runs to the end of the datagram.
func (q *quicConn) datagram(d int, p []byte) {
	count := &q.c.w.count
	for len(p) > 0 && q.c.state == stateReading {
		if p[0]&0x80 == 0 {
			// A short header (1-RTT): read only with keys, the server's.
			if q.keys != nil && d == 1 {
				q.shortPacket(p)
			}
			return
		}
		pkt, rest, err := quic.NextPacket(p, -1)
		if err != nil {
			count.QUICMalformed++
			return
		}
		p = rest
		switch pkt.Type {
		case quic.PacketVersionNegotiation:
			// RFC 9000, Section 17.2.1: the server supports none of the
			// client's versions; the client starts again.
			if d == 1 {
				q.vn = true
				q.c.hs.note(verdict.NoteVersionNegotiation)
			}
		case quic.PacketRetry:
			// RFC 9000, Section 17.2.5.2: a client takes one Retry at
			// most per connection attempt; later ones are discarded.
			if d == 1 && q.keyDCID != nil && !q.retry {
				q.retried(&pkt)
			}
		case quic.Packet0RTT:
			if d == 0 {
				q.zeroRTT++
			}
		case quic.PacketInitial:
			q.initial(d, &pkt)
		case quic.PacketHandshake:
			switch {
			case d != 1:
			case q.keys != nil:
				q.replayEarly()
				q.handshakePacket(&pkt)
			case len(q.early) < maxEarlyHandshake && q.earlyBytes+len(pkt.Raw) <= maxEarlyHandshakeBytes && holdsKeys(q.c.w.cfg.Keys):
				q.early = append(q.early, bytes.Clone(pkt.Raw))
				q.earlyBytes += len(pkt.Raw)
			}
		}
	}
	if q.keys != nil && q.c.state == stateReading {
		q.replayEarly()
	}
}

// replayEarly opens the server's Handshake packets kept before its
// ServerHello, now that the keys are known. It runs between packets, not
// from within the ServerHello's frames: the openers share one buffer.
func (q *quicConn) replayEarly() {
	early := q.early
	q.early, q.earlyBytes = nil, 0
	for _, raw := range early {
		if q.c.state != stateReading || q.keys == nil {
			return
		}
		if pkt, _, err := quic.NextPacket(raw, -1); err == nil && pkt.Type == quic.PacketHandshake {
			q.handshakePacket(&pkt)
		}
	}
}

// rekey derives the client's Initial keys from dcid; the server's are
// derived when its first packet comes (serverKeys), so that a flood of
// unanswered Initials costs one set of keys each.
func (q *quicConn) rekey(v quic.Version, dcid []byte) bool {
	client, _, err := quic.InitialKeys(v, dcid)
	if err != nil {
		return false
	}
	q.version, q.keyDCID = v, bytes.Clone(dcid)
	q.open = [2]*quic.Opener{quic.NewOpener(client), nil}
	q.open[0].ShareBuffer(&q.c.w.udp.buf)
	return true
}

// serverKeys derives the server's Initial keys.
func (q *quicConn) serverKeys() bool {
	_, server, err := quic.InitialKeys(q.version, q.keyDCID)
	if err != nil {
		return false
	}
	q.open[1] = quic.NewOpener(server)
	q.open[1].ShareBuffer(&q.c.w.udp.buf)
	return true
}

// retried takes a server's Retry (RFC 9001, Section 5.8): once its
// integrity tag checks against the original DCID, the client's next
// Initials, and the server's, use keys from the Retry's SCID, and their
// CRYPTO streams start again.
func (q *quicConn) retried(pkt *quic.Packet) {
	scid, err := quic.CheckRetry(q.odcid, pkt)
	if err != nil || !q.rekey(q.version, scid) {
		q.c.w.count.QUICMalformed++
		return
	}
	q.restart()
}

// restart: after a Retry the client starts its handshake again, under
// new keys, with its CRYPTO streams at offset 0.
func (q *quicConn) restart() {
	q.retry = true
	q.c.hs.note(verdict.NoteRetry)
	q.reset()
}

// reset starts the CRYPTO streams again, the client's next ClientHello
// replacing its first.
func (q *quicConn) reset() {
	for d := range 2 {
		q.crypto[d].Reset()
		q.msgs[d].Reset()
	}
	q.c.hs.retried = true
}

// initial opens an Initial packet and reads its CRYPTO frames.
func (q *quicConn) initial(d int, pkt *quic.Packet) {
	count := &q.c.w.count
	if q.keyDCID == nil {
		if d != 0 || !q.rekey(pkt.Version, pkt.DCID) {
			return
		}
		q.odcid = bytes.Clone(pkt.DCID)
		q.scidLen = len(pkt.SCID)
	}
	if d == 1 && q.open[1] == nil && (pkt.Version != q.version || !q.serverKeys()) {
		return
	}
	if d == 0 && q.open[0] == nil && pkt.Version == q.version {
		// The ClientHello was read and the client's keys let go of: a
		// later client Initial (a second ClientHello after a
		// HelloRetryRequest) derives them again, from the same DCID.
		client, _, err := quic.InitialKeys(q.version, q.keyDCID)
		if err != nil {
			return
		}
		q.open[0] = quic.NewOpener(client)
		q.open[0].ShareBuffer(&q.c.w.udp.buf)
	}
	if pkt.Version != q.version {
		// After Version Negotiation the client starts again in a version
		// the server listed (RFC 9000, Section 6.2), under that
		// version's Initial keys.
		if d != 0 || !q.vn || !q.rekey(pkt.Version, pkt.DCID) {
			return
		}
		q.reset()
	}
	payload, _, err := q.open[d].Open(pkt)
	if err != nil && d == 0 && !bytes.Equal(pkt.DCID, q.keyDCID) {
		// A client's Initial to a new DCID after a Retry this reader could
		// not check (a draft's, or one not captured): its keys come from
		// that DCID (RFC 9001, Section 5.2).
		old, oldDCID, oldVersion := q.open, q.keyDCID, q.version
		if q.rekey(pkt.Version, pkt.DCID) {
			if payload, _, err = q.open[d].Open(pkt); err != nil {
				q.open, q.keyDCID, q.version = old, oldDCID, oldVersion
			} else {
				q.restart()
			}
		}
	}
	if err != nil {
		count.QUICUndecryptable++
		return
	}
	q.frames.Reset(payload, quic.FramesHandshake)
	for q.c.state == stateReading {
		f, err := q.frames.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			count.QUICMalformed++
			return
		}
		if err := q.crypto[d].Push(f.Offset, f.Data); err != nil {
			count.CryptoRejected++
			continue
		}
		q.drain(d)
		q.crypto[d].Release()
	}
}

// drain hands the contiguous CRYPTO bytes of direction d to the
// handshake reader, message by message.
func (q *quicConn) drain(d int) {
	for b := q.crypto[d].Read(); b != nil && q.c.state == stateReading; b = q.crypto[d].Read() {
		q.msgs[d].Write(b)
		for q.c.state == stateReading {
			m, err := q.msgs[d].Next()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				if errors.Is(err, tlsparse.ErrTooLarge) {
					q.c.w.count.Oversized++
					q.c.hs.note(verdict.NoteOversized)
				} else {
					q.c.w.count.MalformedRecord++
					q.c.hs.note(verdict.NoteMalformedRecord)
				}
				q.c.finish()
				return
			}
			q.c.hs.message(d, m)
			if d == 0 && q.c.state == stateReading && q.c.hs.ch != nil && !q.c.hs.retried {
				// The ClientHello is read: the client's keys are not
				// needed any more (0-RTT packets are counted without them).
				q.open[0] = nil
			}
		}
	}
}

// facts copies what QUIC adds to the observation.
func (q *quicConn) facts(ob *verdict.Observation) {
	ob.QUICVersion = uint32(q.version)
	ob.Retry = q.retry
	ob.ZeroRTTPackets = q.zeroRTT
	if q.keys != nil {
		q.keys.keyFacts(ob)
	}
}

func (q *quicConn) unjudged(count *Counters) { count.NoHello++ }

func (q *quicConn) release() {
	q.crypto, q.msgs = [2]quic.CryptoStream{}, [2]tlsparse.Assembler{}
	q.keys = nil
	q.early, q.earlyBytes = nil, 0
}
