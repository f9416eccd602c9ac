package tlsparse

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// helloRetryRequestRandom is the Random of a HelloRetryRequest, which is
// sent as a ServerHello (RFC 8446, Section 4.1.3).
var helloRetryRequestRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
	0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ServerHello holds the fields of a ServerHello that matter for resumption
// (RFC 8446, Section 4.1.3; RFC 5246, Section 7.4.1.3). Byte slices alias
// the parsed body.
type ServerHello struct {
	Version     Version // legacy_version
	Random      []byte
	SessionID   []byte
	CipherSuite CipherSuite
	Extensions  []Extension

	// SupportedVersion is the supported_versions selection, or zero.
	SupportedVersion Version
	// HasPSK is set when the server selected a pre-shared key;
	// SelectedIdentity is the index into the client's identities.
	HasPSK           bool
	SelectedIdentity int
	// SessionTicketExt is set when the server says it will send a
	// NewSessionTicket (RFC 5077, Section 3.2).
	SessionTicketExt bool
	ALPN             string
	// HelloRetryRequest is set when the Random is the HRR value.
	HelloRetryRequest bool

	Notes []string
}

// Negotiated returns the negotiated version: supported_versions when
// present, else legacy_version (RFC 8446, Section 4.2.1). The record
// version never counts.
func (sh *ServerHello) Negotiated() Version {
	if sh.SupportedVersion != 0 {
		return sh.SupportedVersion
	}
	return sh.Version
}

// preCompatDraft reports whether v is a TLS 1.3 draft before 22, whose
// ServerHello had no legacy_session_id_echo or compression method
// (draft-ietf-tls-tls13-22 added them back for middlebox compatibility).
// Some of those servers wrote 0x0304 in the version field; RFC 8446
// servers always write 0x0303 there.
func preCompatDraft(v Version) bool {
	return v>>8 == 0x7f && uint8(v) < 22
}

// ParseServerHello parses a ServerHello body (without the handshake
// header).
func ParseServerHello(body []byte) (*ServerHello, error) {
	s := cryptobyte.String(body)
	sh := &ServerHello{}
	var v, suite uint16
	var random []byte
	var sid cryptobyte.String
	var comp uint8
	// RFC 8446, Section 4.1.3: legacy_version, random, legacy_session_id_echo,
	// cipher_suite, legacy_compression_method, extensions.
	if !s.ReadUint16(&v) || !s.ReadBytes(&random, 32) {
		return nil, fmt.Errorf("tlsparse: server hello: %w", ErrMalformed)
	}
	if Version(v) == VersionTLS13 || preCompatDraft(Version(v)) {
		// draft-ietf-tls-tls13-21, Section 4.1.3 and earlier drafts: no
		// session ID echo and no compression method; the version field
		// is the negotiated draft version.
		if !s.ReadUint16(&suite) {
			return nil, fmt.Errorf("tlsparse: server hello: %w", ErrMalformed)
		}
		sh.SupportedVersion = Version(v)
	} else if !s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&suite) || !s.ReadUint8(&comp) {
		return nil, fmt.Errorf("tlsparse: server hello: %w", ErrMalformed)
	}
	if len(sid) > 32 {
		return nil, fmt.Errorf("tlsparse: server hello session id of %d bytes: %w", len(sid), ErrMalformed)
	}
	sh.Version, sh.Random, sh.SessionID, sh.CipherSuite = Version(v), random, sid, CipherSuite(suite)
	sh.HelloRetryRequest = bytes.Equal(random, helloRetryRequestRandom)
	exts, notes, err := readExtensions(&s, "server hello")
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		notes = append(notes, "trailing_bytes_server_hello")
	}
	sh.Extensions, sh.Notes = exts, notes
	for _, e := range exts {
		if !sh.readExtension(e) {
			sh.Notes = append(sh.Notes, fmt.Sprintf("malformed_extension_%d", e.Type))
		}
	}
	return sh, nil
}

func (sh *ServerHello) readExtension(e Extension) bool {
	d := cryptobyte.String(e.Data)
	switch e.Type {
	case ExtSupportedVersions:
		// RFC 8446, Section 4.2.1: selected_version.
		var v uint16
		if !d.ReadUint16(&v) || !d.Empty() {
			return false
		}
		sh.SupportedVersion = Version(v)
	case ExtPreSharedKey:
		// RFC 8446, Section 4.2.11: selected_identity. In a
		// HelloRetryRequest the extension cannot appear.
		var id uint16
		if !d.ReadUint16(&id) || !d.Empty() {
			return false
		}
		sh.HasPSK, sh.SelectedIdentity = true, int(id)
	case ExtSessionTicket:
		// RFC 5077, Section 3.2: empty in a ServerHello.
		sh.SessionTicketExt = true
	case ExtALPN:
		// RFC 7301, Section 3.1: exactly one protocol name.
		var list, proto cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&proto) || !list.Empty() || !d.Empty() {
			return false
		}
		sh.ALPN = string(proto)
	}
	return true
}
