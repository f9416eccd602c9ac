package tlsparse

import (
	"cmp"
	"fmt"
	"slices"
)

// Version is a protocol version as it appears on the wire.
type Version uint16

// Protocol versions (RFC 8446, Section 4.2.1; RFC 6101).
const (
	VersionSSL20 Version = 0x0002
	VersionSSL30 Version = 0x0300
	VersionTLS10 Version = 0x0301
	VersionTLS11 Version = 0x0302
	VersionTLS12 Version = 0x0303
	VersionTLS13 Version = 0x0304

	// DTLS versions are the ones' complement of the TLS version they
	// derive from (RFC 6347, Section 4.1; RFC 9147, Section 5.3).
	VersionDTLS10 Version = 0xfeff
	VersionDTLS12 Version = 0xfefd
	VersionDTLS13 Version = 0xfefc
)

// IsTLS13 reports whether v is TLS 1.3 or one of its pre-standard forms:
// IETF drafts (0x7fXX), Google's experiment versions (0x7eXX) and
// Facebook's (0xfbXX), and DTLS 1.3 (RFC 9147). All of them use TLS 1.3's
// resumption rules.
func (v Version) IsTLS13() bool {
	switch {
	case v == VersionTLS13, v == VersionDTLS13:
		return true
	case v>>8 == 0x7f, v>>8 == 0x7e, v>>8 == 0xfb:
		return true
	}
	return false
}

func (v Version) String() string {
	switch v {
	case VersionSSL20:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	case VersionDTLS10:
		return "DTLS 1.0"
	case VersionDTLS12:
		return "DTLS 1.2"
	case VersionDTLS13:
		return "DTLS 1.3"
	}
	switch v >> 8 {
	case 0x7f:
		return fmt.Sprintf("TLS 1.3 (draft %d)", uint8(v))
	case 0x7e, 0xfb:
		return fmt.Sprintf("TLS 1.3 (experiment 0x%04x)", uint16(v))
	}
	return fmt.Sprintf("0x%04x", uint16(v))
}

// RecordType is a TLS record's content type (RFC 8446, Section 5.1).
type RecordType uint8

// Record content types.
const (
	RecordChangeCipherSpec RecordType = 20
	RecordAlert            RecordType = 21
	RecordHandshake        RecordType = 22
	RecordApplicationData  RecordType = 23
	RecordHeartbeat        RecordType = 24 // RFC 6520
)

func (t RecordType) String() string {
	switch t {
	case RecordChangeCipherSpec:
		return "change_cipher_spec"
	case RecordAlert:
		return "alert"
	case RecordHandshake:
		return "handshake"
	case RecordApplicationData:
		return "application_data"
	case RecordHeartbeat:
		return "heartbeat"
	}
	return fmt.Sprintf("record_type(%d)", uint8(t))
}

// HandshakeType is a handshake message type (RFC 8446, Section 4; RFC 5246,
// Section 7.4).
type HandshakeType uint8

// Handshake message types.
const (
	TypeHelloRequest        HandshakeType = 0
	TypeClientHello         HandshakeType = 1
	TypeServerHello         HandshakeType = 2
	TypeHelloVerifyRequest  HandshakeType = 3 // DTLS
	TypeNewSessionTicket    HandshakeType = 4
	TypeEndOfEarlyData      HandshakeType = 5
	TypeEncryptedExtensions HandshakeType = 8
	TypeCertificate         HandshakeType = 11
	TypeServerKeyExchange   HandshakeType = 12
	TypeCertificateRequest  HandshakeType = 13
	TypeServerHelloDone     HandshakeType = 14
	TypeCertificateVerify   HandshakeType = 15
	TypeClientKeyExchange   HandshakeType = 16
	TypeFinished            HandshakeType = 20
	TypeCertificateStatus   HandshakeType = 22
	TypeKeyUpdate           HandshakeType = 24
	TypeMessageHash         HandshakeType = 254
)

var handshakeNames = map[HandshakeType]string{
	TypeHelloRequest:        "hello_request",
	TypeClientHello:         "client_hello",
	TypeServerHello:         "server_hello",
	TypeHelloVerifyRequest:  "hello_verify_request",
	TypeNewSessionTicket:    "new_session_ticket",
	TypeEndOfEarlyData:      "end_of_early_data",
	TypeEncryptedExtensions: "encrypted_extensions",
	TypeCertificate:         "certificate",
	TypeServerKeyExchange:   "server_key_exchange",
	TypeCertificateRequest:  "certificate_request",
	TypeServerHelloDone:     "server_hello_done",
	TypeCertificateVerify:   "certificate_verify",
	TypeClientKeyExchange:   "client_key_exchange",
	TypeFinished:            "finished",
	TypeCertificateStatus:   "certificate_status",
	TypeKeyUpdate:           "key_update",
	TypeMessageHash:         "message_hash",
}

func (t HandshakeType) String() string {
	if s, ok := handshakeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("handshake_type(%d)", uint8(t))
}

// ExtensionType is a hello extension's type (IANA "TLS ExtensionType Values").
type ExtensionType uint16

// Extensions this package reads.
const (
	ExtServerName          ExtensionType = 0  // RFC 6066, Section 3
	ExtSupportedGroups     ExtensionType = 10 // RFC 8446, Section 4.2.7; RFC 8422, Section 5.1.1
	ExtECPointFormats      ExtensionType = 11 // RFC 8422, Section 5.1.2
	ExtSignatureAlgorithms ExtensionType = 13 // RFC 8446, Section 4.2.3
	ExtALPN                ExtensionType = 16 // RFC 7301, Section 3.1
	ExtSessionTicket       ExtensionType = 35 // RFC 5077, Section 3.2
	ExtPreSharedKey        ExtensionType = 41 // RFC 8446, Section 4.2.11
	ExtEarlyData           ExtensionType = 42 // RFC 8446, Section 4.2.10
	ExtSupportedVersions   ExtensionType = 43 // RFC 8446, Section 4.2.1
	ExtPSKKeyExchangeModes ExtensionType = 45 // RFC 8446, Section 4.2.9
	ExtKeyShare            ExtensionType = 51 // RFC 8446, Section 4.2.8
)

var extensionNames = map[ExtensionType]string{
	ExtServerName: "server_name", ExtSupportedGroups: "supported_groups", ExtECPointFormats: "ec_point_formats",
	ExtSignatureAlgorithms: "signature_algorithms", ExtALPN: "application_layer_protocol_negotiation",
	ExtSessionTicket: "session_ticket", ExtPreSharedKey: "pre_shared_key", ExtEarlyData: "early_data",
	ExtSupportedVersions: "supported_versions", ExtPSKKeyExchangeModes: "psk_key_exchange_modes", ExtKeyShare: "key_share",
}

// String returns the extension's IANA name, or its number for one this
// package does not read.
func (t ExtensionType) String() string {
	if n, ok := extensionNames[t]; ok {
		return n
	}
	return fmt.Sprintf("extension_%d", uint16(t))
}

// CipherSuite is a cipher suite number (IANA "TLS Cipher Suites").
type CipherSuite uint16

// String returns the suite's name in the IANA registry, or 0xNNNN for a
// value the registry does not name (unassigned, reserved, GREASE, private
// use).
func (c CipherSuite) String() string {
	if s, ok := c.name(); ok {
		return s
	}
	return fmt.Sprintf("0x%04x", uint16(c))
}

// name looks c up in the registry table.
func (c CipherSuite) name() (string, bool) {
	i, ok := slices.BinarySearchFunc(ianaCipherSuites[:], c, func(e struct {
		id   CipherSuite
		name string
	}, c CipherSuite) int {
		return cmp.Compare(e.id, c)
	})
	if !ok {
		return "", false
	}
	return ianaCipherSuites[i].name, true
}

// IsGREASE reports whether v is one of the sixteen GREASE values
// (RFC 8701, Section 2) that clients put in cipher suites, extensions,
// named groups, signature algorithms and versions: 0x0a0a, 0x1a1a, ...,
// 0xfafa.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}
