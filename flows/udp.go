package flows

import (
	"encoding/binary"

	"github.com/tlsresume/tlsresume/dtls"
	"github.com/tlsresume/tlsresume/quic"
	"github.com/tlsresume/tlsresume/verdict"
)

// The UDP transports: QUIC (quic.go) and DTLS (dtls.go), told apart by the
// content of a flow's first datagram, never by port.

// udpKind is what the first bytes of a datagram may be.
type udpKind uint8

const (
	udpOther udpKind = iota
	udpQUIC          // a QUIC long header of a known version, or Version Negotiation
	udpDTLS          // a DTLS record with a plaintext header
)

// udpKindOf looks at a datagram's first bytes only.
func udpKindOf(p []byte) udpKind {
	if len(p) < 13 {
		return udpOther
	}
	// RFC 9000, Section 17.2: header form and fixed bit set, then the
	// version.
	if p[0]&0x80 != 0 {
		switch v := quic.Version(binary.BigEndian.Uint32(p[1:5])); {
		case v.Known(), v == quic.VersionNegotiation:
			return udpQUIC
		}
		return udpOther
	}
	// RFC 6347, Section 4.1: content type 20 to 23 (25, 26 later), then
	// a DTLS version (0xfeff, 0xfefd, 0xfefc; 0x0100 is OpenSSL's before
	// 0.9.8f, still spoken by Cisco AnyConnect).
	if p[0] >= 20 && p[0] <= 26 && ((p[1] == 0xfe && (p[2] == 0xff || p[2] == 0xfd || p[2] == 0xfc)) || (p[1] == 1 && p[2] == 0)) {
		return udpDTLS
	}
	return udpOther
}

// startsUDPFlow reports whether the datagram can be a client's first
// flight: a QUIC Initial (RFC 9000, Section 17.2.2; RFC 9369, Section
// 3.2 for v2's type bits), or a DTLS ClientHello.
func startsUDPFlow(kind udpKind, p []byte) bool {
	switch kind {
	case udpQUIC:
		if !quic.Looks(p) {
			return false
		}
		typ := (p[0] >> 4) & 3
		switch v := quic.Version(binary.BigEndian.Uint32(p[1:5])); {
		case v == quic.Version2:
			return typ == 1
		case v.Known():
			return typ == 0 // version 1 and the drafts
		}
		return false
	case udpDTLS:
		return dtls.Looks(p) && p[0] == 22 && len(p) > 13 && p[13] == 1
	}
	return false
}

// keysHeld is what a Keys may also say, at the cost of an atomic load
// since the front asks it per datagram: whether it holds any secret yet.
// A Keys without the method is taken to hold some.
type keysHeld interface{ Held() bool }

// wantsShort reports whether the front looks a datagram that is not a
// long header up in its flow table, to hand it to the flow's worker: a
// QUIC short header (RFC 9000, Section 17.3.1: header form 0, fixed bit
// 1) while the key log holds secrets, for the server's tickets in 1-RTT
// packets. Without secrets other UDP costs this look only. A short header
// whose fixed bit is greased (RFC 9287) is read only coalesced after a
// long header: alone, its first bits could be DTLS 1.3's unified header
// (RFC 9147, Section 4), whose flows must not change.
func wantsShort(keys Keys, p []byte) bool {
	if len(p) == 0 || p[0]&0xc0 != 0x40 {
		return false
	}
	return holdsKeys(keys)
}

// holdsKeys reports whether keys may hold secrets now: none without a key
// log, else as keysHeld says.
func holdsKeys(keys Keys) bool {
	if keys == nil {
		return false
	}
	if k, ok := keys.(keysHeld); ok {
		return k.Held()
	}
	return true
}

// udpTransport is a worker's UDP state: nothing shared, every connection
// has its own stream.
type udpTransport struct {
	w   *worker
	buf []byte // the QUIC Openers' decryption buffer, shared by the worker's connections
	// reading are the connections being read, oldest first (done ones
	// are skipped when met): past maxUDPReading the oldest are given up,
	// so that a flood of Initials or ClientHellos no server answers holds
	// bounded memory (a few KB each).
	reading []*conn
	n       int
}

// maxUDPReading bounds the QUIC and DTLS connections a worker reads at a
// time.
const maxUDPReading = 16384

func (t *udpTransport) decode(it *item, data []byte) bool { return true }

func (t *udpTransport) packet(c *conn, it *item, data []byte) {
	p := it.hdr.udpPayload(data)
	if c.state == stateWaiting {
		if udpKindOf(p) == udpQUIC {
			t.w.read(c, &quicConn{c: c}, verdict.QUIC)
		} else {
			t.w.read(c, &dtlsConn{c: c}, verdict.DTLS)
		}
		t.reading = append(t.reading, c)
		t.n++
	}
	d := 1
	if it.hdr.sp == c.sp && it.hdr.src == c.src16 {
		d = 0
	}
	hs := c.hs
	hs.frame = it.frame
	if hs.chTS.IsZero() {
		hs.chTS = it.ci.Timestamp
	}
	switch s := c.stream.(type) {
	case *quicConn:
		s.datagram(d, p)
	case *dtlsConn:
		if udpKindOf(p) != udpOther {
			s.datagram(d, p) // not a QUIC short header let through for a key log
		}
	}
}

func (t *udpTransport) tick() {}

// trim gives up the oldest connections past maxUDPReading.
func (t *udpTransport) trim() {
	for len(t.reading) > 0 && (t.n > maxUDPReading || t.reading[0].state != stateReading) {
		c := t.reading[0]
		t.reading[0] = nil
		t.reading = t.reading[1:]
		if c.state == stateReading {
			t.w.count.UDPGivenUp++
			c.finish()
		}
		t.n--
	}
	if cap(t.reading) > 2*maxUDPReading && len(t.reading) < cap(t.reading)/4 {
		t.reading = append([]*conn(nil), t.reading...)
	}
}

func (t *udpTransport) flush() {}
