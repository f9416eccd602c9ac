package quic

import "fmt"

// Version is the 32-bit version field of a long header (RFC 9000,
// Section 17.2).
type Version uint32

const (
	// VersionNegotiation is the version field of a Version Negotiation
	// packet (RFC 9000, Section 17.2.1).
	VersionNegotiation Version = 0
	// Version1 is QUIC version 1 (RFC 9000, RFC 9001).
	Version1 Version = 0x00000001
	// Version2 is QUIC version 2 (RFC 9369, Section 3.1).
	Version2 Version = 0x6b3343cf
)

// Known reports whether v is a version whose packets this package reads
// past the invariant header: 1, 2, and the IETF drafts 23 to 32 that
// browsers and servers deployed before RFC 9000 (draft-29 above all).
func (v Version) Known() bool { return paramsFor(v) != nil }

// draft returns the IETF draft number of a draft version (0xff0000NN,
// draft-ietf-quic-transport, Section 15), 0 for any other.
func (v Version) draft() int {
	if v&0xffffff00 == 0xff000000 {
		return int(v & 0xff)
	}
	return 0
}

func (v Version) String() string {
	switch v {
	case VersionNegotiation:
		return "version negotiation"
	case Version1:
		return "QUICv1"
	case Version2:
		return "QUICv2"
	}
	if n := v.draft(); n > 0 {
		return fmt.Sprintf("draft-%d", n)
	}
	if v&0xffffff00 == 0xfaceb000 {
		return fmt.Sprintf("mvfst 0x%08x", uint32(v))
	}
	if v&0x0f0f0f0f == 0x0a0a0a0a {
		// RFC 9000, Section 15: reserved for forcing version negotiation.
		return fmt.Sprintf("grease 0x%08x", uint32(v))
	}
	return fmt.Sprintf("0x%08x", uint32(v))
}

// params holds what differs between the versions.
type params struct {
	salt       []byte        // RFC 9001, Section 5.2; RFC 9369, Section 3.3.1
	key, iv    string        // packet protection labels, RFC 9001, Section 5.1
	hp, ku     string        // header protection and key update labels
	retryKey   [16]byte      // RFC 9001, Section 5.8; RFC 9369, Section 3.3.3
	retryNonce [12]byte      //
	types      [4]PacketType // long packet type bits -> type
}

var v1Params = params{
	salt: []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
	key: "quic key", iv: "quic iv", hp: "quic hp", ku: "quic ku",
	retryKey: [16]byte{0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
		0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e},
	retryNonce: [12]byte{0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2,
		0x23, 0x98, 0x25, 0xbb},
	// RFC 9000, Section 17.2, Table 5.
	types: [4]PacketType{PacketInitial, Packet0RTT, PacketHandshake, PacketRetry},
}

var v2Params = params{
	salt: []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
		0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
	key: "quicv2 key", iv: "quicv2 iv", hp: "quicv2 hp", ku: "quicv2 ku",
	retryKey: [16]byte{0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
		0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92},
	retryNonce: [12]byte{0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99,
		0x90, 0xef, 0xb0, 0x4a},
	// RFC 9369, Section 3.2.
	types: [4]PacketType{PacketRetry, PacketInitial, Packet0RTT, PacketHandshake},
}

// Drafts 23 to 32 differ from version 1 in their Initial salt only
// (draft-ietf-quic-tls-23, -29, Section 5.2) as far as reading Initials
// goes: the labels and packet types are version 1's. Their Retry
// integrity keys are not kept: a draft Retry does not check.
var (
	draft22Params = draftParams([]byte{0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
		0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a})
	draft23Params = draftParams([]byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
		0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02})
	draft29Params = draftParams([]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
		0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99})
)

func draftParams(salt []byte) params {
	p := v1Params
	p.salt = salt
	p.retryKey, p.retryNonce = [16]byte{}, [12]byte{}
	return p
}

// Facebook's mvfst versions follow the drafts they implement: 0xfaceb001
// draft-22, 0xfaceb002 draft-27, 0xfaceb00e (experimental) draft-29.
const (
	mvfstDraft22 Version = 0xfaceb001
	mvfstDraft27 Version = 0xfaceb002
	mvfstExp     Version = 0xfaceb00e
)

// paramsFor returns the parameters of a known version, nil otherwise.
func paramsFor(v Version) *params {
	switch v {
	case Version1:
		return &v1Params
	case Version2:
		return &v2Params
	case mvfstDraft22:
		return &draft22Params
	case mvfstDraft27:
		return &draft23Params
	case mvfstExp:
		return &draft29Params
	}
	switch n := v.draft(); {
	case n >= 23 && n <= 28:
		return &draft23Params
	case n >= 29 && n <= 32:
		return &draft29Params
	case n >= 33 && n <= 34:
		// draft-ietf-quic-tls-33 and -34 have the salt of version 1.
		return &v1Params
	}
	return nil
}
