package quicgen

import (
	"encoding/hex"

	"github.com/quic-go/quic-go"
	"golang.org/x/crypto/cryptobyte"
)

// The recorder reads only the invariant part of a QUIC long header (RFC 8999, Section 5.1)
// and the packet type bits, to find the client's original Destination Connection ID and to
// see Retry packets on the wire. Everything else in a datagram is opaque to it.

// PacketType is the type of a long-header packet, independent of the version's encoding.
type PacketType int

const (
	Initial   PacketType = iota // Initial
	ZeroRTT                     // 0-RTT
	Handshake                   // Handshake
	Retry                       // Retry
	// VersionNegotiation is a long header with version 0 (RFC 9000, Section 17.2.1).
	VersionNegotiation // Version Negotiation
)

var packetTypeNames = [...]string{"Initial", "0-RTT", "Handshake", "Retry", "Version Negotiation"}

func (t PacketType) String() string {
	if t >= 0 && int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "unknown"
}

// LongHeader is the start of a long-header packet.
type LongHeader struct {
	Type       PacketType
	Version    quic.Version
	DCID, SCID []byte // sub-slices of the datagram
}

// ParseLongHeader reads the long header at the start of b. ok is false for a short header,
// a version it does not know the type bits of, or a truncated header.
func ParseLongHeader(b []byte) (h LongHeader, ok bool) {
	s := cryptobyte.String(b)
	var first uint8
	var version uint32
	// RFC 8999, Section 5.1: Header Form (1) bit, version, DCID and SCID with 8-bit lengths.
	if !s.ReadUint8(&first) || first&0x80 == 0 || !s.ReadUint32(&version) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&h.DCID)) ||
		!s.ReadUint8LengthPrefixed((*cryptobyte.String)(&h.SCID)) {
		return LongHeader{}, false
	}
	h.Version = quic.Version(version)
	bits := (first >> 4) & 0x3
	switch h.Version {
	case 0:
		h.Type = VersionNegotiation
	case quic.Version1:
		// RFC 9000, Section 17.2, Table 5: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry.
		h.Type = PacketType(bits)
	case quic.Version2:
		// RFC 9369, Section 3.2: 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry.
		h.Type = PacketType((bits + 3) % 4)
	default:
		return LongHeader{}, false
	}
	return h, true
}

func hexID(b []byte) string { return hex.EncodeToString(b) }
