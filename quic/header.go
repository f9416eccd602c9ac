package quic

import (
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// PacketType says which kind of packet a header starts.
type PacketType uint8

const (
	PacketInitial            PacketType = iota + 1 // Initial (RFC 9000, Section 17.2.2)
	Packet0RTT                                     // 0-RTT (RFC 9000, Section 17.2.3)
	PacketHandshake                                // Handshake (RFC 9000, Section 17.2.4)
	PacketRetry                                    // Retry (RFC 9000, Section 17.2.5)
	PacketVersionNegotiation                       // Version Negotiation (RFC 9000, Section 17.2.1)
	PacketShort                                    // 1-RTT, short header (RFC 9000, Section 17.3.1)
)

var packetTypeNames = [...]string{
	PacketInitial:            "initial",
	Packet0RTT:               "0-rtt",
	PacketHandshake:          "handshake",
	PacketRetry:              "retry",
	PacketVersionNegotiation: "version negotiation",
	PacketShort:              "1-rtt",
}

func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) && packetTypeNames[t] != "" {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("packet type %d", uint8(t))
}

// MaxConnIDLen bounds a connection ID in versions 1 and 2 (RFC 9000,
// Section 17.2).
const MaxConnIDLen = 20

// Packet is one packet of a datagram, header parsed, payload still
// protected. Every slice aliases the datagram it was parsed from.
type Packet struct {
	Type    PacketType
	Version Version // zero for a short header, whose version is the connection's
	DCID    []byte
	SCID    []byte // long headers only
	// Token is the Initial's token (RFC 9000, Section 17.2.2) or the
	// Retry's retry token (Section 17.2.5).
	Token []byte
	// Raw is the whole packet: header, protected packet number and
	// payload with its AEAD tag (for a Retry, through the integrity tag).
	Raw []byte
	// PNOffset is where the protected packet number starts in Raw, for
	// Initial, 0-RTT, Handshake and 1-RTT packets.
	PNOffset int

	versions []byte // Version Negotiation: the Supported Version list
}

// SupportedVersions appends the versions a Version Negotiation packet
// lists (RFC 9000, Section 17.2.1) to dst.
func (p *Packet) SupportedVersions(dst []Version) []Version {
	for b := p.versions; len(b) >= 4; b = b[4:] {
		dst = append(dst, Version(binary.BigEndian.Uint32(b)))
	}
	return dst
}

// NextPacket parses the packet at the start of datagram and returns it
// with the bytes after it: long-header packets carry a Length field and
// may be followed by more packets in the same datagram (RFC 9000,
// Section 12.2); a short-header packet, a Retry and a Version Negotiation
// packet run to the end of the datagram. shortDCIDLen is the length of
// the Destination Connection ID of short headers on this path (the
// receiver chose it, so the header does not say); pass -1 when it is not
// known, and a short header is then malformed.
func NextPacket(datagram []byte, shortDCIDLen int) (p Packet, rest []byte, err error) {
	if len(datagram) == 0 {
		return Packet{}, nil, fmt.Errorf("quic: packet: empty: %w", io.ErrUnexpectedEOF)
	}
	// RFC 9000, Section 17.2: the high bit is the header form.
	if datagram[0]&0x80 == 0 {
		p, err = ParseShort(datagram, shortDCIDLen)
		return p, nil, err
	}
	return parseLong(datagram)
}

// ParseShort parses a short header (RFC 9000, Section 17.3.1) whose
// Destination Connection ID is dcidLen bytes long. The packet runs to the
// end of b.
func ParseShort(b []byte, dcidLen int) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, fmt.Errorf("quic: short header: %w", io.ErrUnexpectedEOF)
	}
	// RFC 9000, Section 17.3.1: Header Form 0, Fixed Bit 1.
	if b[0]&0x80 != 0 || b[0]&0x40 == 0 {
		return Packet{}, fmt.Errorf("quic: short header: first byte 0x%02x: %w", b[0], ErrMalformed)
	}
	if dcidLen < 0 || dcidLen > MaxConnIDLen {
		return Packet{}, fmt.Errorf("quic: short header: connection id length %d not known: %w", dcidLen, ErrMalformed)
	}
	if len(b) < 1+dcidLen {
		return Packet{}, fmt.Errorf("quic: short header: %w", io.ErrUnexpectedEOF)
	}
	return Packet{Type: PacketShort, DCID: b[1 : 1+dcidLen], Raw: b, PNOffset: 1 + dcidLen}, nil
}

func parseLong(b []byte) (Packet, []byte, error) {
	s := cryptobyte.String(b)
	var first uint8
	var v uint32
	var p Packet
	// RFC 8999, Section 5.1: the invariant long header.
	if !s.ReadUint8(&first) || !s.ReadUint32(&v) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&p.DCID)) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&p.SCID)) {
		return Packet{}, nil, fmt.Errorf("quic: long header: %w", io.ErrUnexpectedEOF)
	}
	p.Version = Version(v)
	if p.Version == VersionNegotiation {
		// RFC 9000, Section 17.2.1: the rest is a list of 32-bit
		// versions; the other bits of the first byte are unused.
		if len(s) == 0 || len(s)%4 != 0 {
			return Packet{}, nil, fmt.Errorf("quic: version negotiation: %d bytes of versions: %w", len(s), ErrMalformed)
		}
		p.Type, p.versions, p.Raw = PacketVersionNegotiation, s, b
		return p, nil, nil
	}
	pr := paramsFor(p.Version)
	if pr == nil {
		return p, nil, fmt.Errorf("quic: long header: %v: %w", p.Version, ErrUnknownVersion)
	}
	// RFC 9000, Section 17.2: connection IDs of versions 1 and 2 are at
	// most 20 bytes. The Fixed Bit is not checked: a peer that announced
	// grease_quic_bit may clear it (RFC 9287, Section 3), and servers do
	// in their coalesced replies.
	if len(p.DCID) > MaxConnIDLen || len(p.SCID) > MaxConnIDLen {
		return Packet{}, nil, fmt.Errorf("quic: long header: connection id over %d bytes: %w", MaxConnIDLen, ErrMalformed)
	}
	p.Type = pr.types[first>>4&3]
	switch p.Type {
	case PacketRetry:
		// RFC 9000, Section 17.2.5: the token runs to the 16-byte Retry
		// Integrity Tag at the end of the datagram.
		if len(s) < retryTagLen {
			return Packet{}, nil, fmt.Errorf("quic: retry: %w", io.ErrUnexpectedEOF)
		}
		p.Token, p.Raw = s[:len(s)-retryTagLen], b
		return p, nil, nil
	case PacketInitial:
		// RFC 9000, Section 17.2.2: Token Length and Token.
		if !readVarintBytes(&s, &p.Token) {
			return Packet{}, nil, fmt.Errorf("quic: initial: token: %w", io.ErrUnexpectedEOF)
		}
	}
	// RFC 9000, Sections 17.2.2-17.2.4: Length covers the packet number
	// and the protected payload.
	var n uint64
	if !readVarint(&s, &n) {
		return Packet{}, nil, fmt.Errorf("quic: %v: length: %w", p.Type, io.ErrUnexpectedEOF)
	}
	if n > uint64(len(s)) {
		return Packet{}, nil, fmt.Errorf("quic: %v: length %d past the datagram's %d bytes: %w", p.Type, n, len(s), io.ErrUnexpectedEOF)
	}
	p.PNOffset = len(b) - len(s)
	end := p.PNOffset + int(n)
	p.Raw = b[:end]
	return p, b[end:], nil
}

// Looks reports whether a UDP payload looks like the first bytes of a QUIC
// long-header packet: long form, a version this package reads (or a
// Version Negotiation packet), the Fixed Bit set, connection IDs of at
// most 20 bytes and lengths that fit the datagram. It decides by content,
// never by port, that a UDP flow is QUIC; it reads a handful of bytes and
// allocates nothing.
func Looks(datagram []byte) bool {
	b := datagram
	// Shortest long header: first byte, version, two empty CID lengths.
	if len(b) < 7 || b[0]&0x80 == 0 {
		return false
	}
	v := Version(binary.BigEndian.Uint32(b[1:5]))
	if !v.Known() && v != VersionNegotiation {
		return false
	}
	dl := int(b[5])
	if dl > MaxConnIDLen || len(b) < 7+dl {
		return false
	}
	sl := int(b[6+dl])
	i := 7 + dl + sl
	if sl > MaxConnIDLen || len(b) < i {
		return false
	}
	if v == VersionNegotiation {
		// RFC 9000, Section 17.2.1: the Fixed Bit is unused here, so
		// ask for a non-empty whole list of versions instead.
		return len(b) > i && (len(b)-i)%4 == 0
	}
	if b[0]&0x40 == 0 {
		return false
	}
	t := paramsFor(v).types[b[0]>>4&3]
	if t == PacketRetry {
		return len(b) >= i+retryTagLen
	}
	s := cryptobyte.String(b[i:])
	var n uint64
	if t == PacketInitial && (!readVarint(&s, &n) || n > uint64(len(s)) || !s.Skip(int(n))) {
		return false
	}
	// Length: at least a packet number and an AEAD tag, within the datagram.
	return readVarint(&s, &n) && n <= uint64(len(s)) && n >= 1+aeadTagLen
}
