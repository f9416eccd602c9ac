package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// ClientHello holds the fields of a ClientHello that matter for
// resumption and for client fingerprints (RFC 8446, Section 4.1.2;
// RFC 5246, Section 7.4.1.2). Byte slices alias the parsed body; the
// []uint16 and []CipherSuite lists are allocated by the parser and owned
// by the ClientHello.
type ClientHello struct {
	Version      Version // legacy_version
	Random       []byte
	SessionID    []byte
	CipherSuites int // how many were offered (SSLv2: cipher specs of any kind)
	// Suites are the offered cipher suites in wire order, GREASE values
	// (RFC 8701) included. In an SSLv2-compatible hello it holds only the
	// specs that name a TLS suite (first byte zero, RFC 5246, Appendix
	// E.2), so it can be shorter than CipherSuites.
	Suites []CipherSuite
	// Extensions are all extensions in wire order, duplicates and unknown
	// types included.
	Extensions []Extension

	ServerName        string
	ALPN              []string
	SupportedVersions []Version

	// SessionTicketExt is set when the session_ticket extension is present;
	// SessionTicket holds its data. Only a non-empty ticket is an offer
	// (RFC 5077, Section 3.2).
	SessionTicketExt bool
	SessionTicket    []byte

	// PSKIdentities are the pre_shared_key identities (RFC 8446,
	// Section 4.2.11).
	PSKIdentities [][]byte
	// PSKAges are the identities' obfuscated_ticket_age values, in the
	// same order: the ticket's age in milliseconds plus its
	// ticket_age_add, modulo 2^32 (RFC 8446, Section 4.2.11.1).
	PSKAges   []uint32
	EarlyData bool
	PSKModes  []uint8

	// SupportedGroups (RFC 8446, Section 4.2.7; elliptic_curves in
	// RFC 8422, Section 5.1.1), ECPointFormats (RFC 8422, Section 5.1.2)
	// and SignatureAlgorithms (RFC 8446, Section 4.2.3) are those
	// extensions' lists in wire order, GREASE values included; nil when
	// the extension is absent or malformed.
	SupportedGroups     []uint16
	ECPointFormats      []uint8
	SignatureAlgorithms []uint16

	// SSLv2 is set when the hello came in SSLv2-compatible form.
	SSLv2 bool

	// Notes lists leniently accepted anomalies: duplicate or malformed
	// extensions, a pre_shared_key that is not last.
	Notes []string
}

// OffersTLS13 reports whether supported_versions lists a TLS 1.3 version.
func (ch *ClientHello) OffersTLS13() bool {
	for _, v := range ch.SupportedVersions {
		if v.IsTLS13() {
			return true
		}
	}
	return false
}

// ParseClientHello parses a ClientHello body (without the 4-byte handshake
// header). Malformed extensions become notes; a malformed fixed part is an
// error wrapping ErrMalformed.
func ParseClientHello(body []byte) (*ClientHello, error) {
	s := cryptobyte.String(body)
	ch := &ClientHello{}
	var v uint16
	var random []byte
	var sid, suites, comp cryptobyte.String
	// RFC 8446, Section 4.1.2: legacy_version, random, legacy_session_id,
	// cipher_suites, legacy_compression_methods, extensions.
	if !s.ReadUint16(&v) || !s.ReadBytes(&random, 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&comp) {
		return nil, fmt.Errorf("tlsparse: client hello: %w", ErrMalformed)
	}
	if len(sid) > 32 {
		return nil, fmt.Errorf("tlsparse: client hello session id of %d bytes: %w", len(sid), ErrMalformed)
	}
	if len(suites)%2 != 0 || len(suites) == 0 {
		return nil, fmt.Errorf("tlsparse: client hello cipher suites: %w", ErrMalformed)
	}
	ch.Version, ch.Random, ch.SessionID, ch.CipherSuites = Version(v), random, sid, len(suites)/2
	// The list is as long as the bytes already read, never longer than the
	// body.
	ch.Suites = make([]CipherSuite, 0, len(suites)/2)
	for !suites.Empty() {
		var cs uint16
		suites.ReadUint16(&cs) // cannot fail: the length is even
		ch.Suites = append(ch.Suites, CipherSuite(cs))
	}
	exts, notes, err := readExtensions(&s, "client hello")
	if err != nil {
		return nil, err
	}
	if !s.Empty() {
		notes = append(notes, "trailing_bytes_client_hello")
	}
	ch.Extensions, ch.Notes = exts, notes
	for i, e := range exts {
		if !ch.readExtension(e) {
			ch.Notes = append(ch.Notes, fmt.Sprintf("malformed_extension_%d", e.Type))
		}
		// RFC 8446, Section 4.2.11: pre_shared_key must be the last extension.
		if e.Type == ExtPreSharedKey && i != len(exts)-1 {
			ch.Notes = append(ch.Notes, "psk_not_last")
		}
	}
	return ch, nil
}

// readExtension fills the fields one extension carries and reports whether
// its content was well-formed.
func (ch *ClientHello) readExtension(e Extension) bool {
	d := cryptobyte.String(e.Data)
	switch e.Type {
	case ExtServerName:
		// RFC 6066, Section 3: ServerNameList of (NameType, HostName).
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() {
			return false
		}
		for !list.Empty() {
			var typ uint8
			var name cryptobyte.String
			if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&name) {
				return false
			}
			if typ == 0 && ch.ServerName == "" {
				ch.ServerName = string(name)
			}
		}
	case ExtALPN:
		// RFC 7301, Section 3.1: ProtocolNameList.
		var list cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() {
			return false
		}
		for !list.Empty() {
			var proto cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&proto) {
				return false
			}
			ch.ALPN = append(ch.ALPN, string(proto))
		}
	case ExtSupportedVersions:
		// RFC 8446, Section 4.2.1: ProtocolVersion versions<2..254>.
		var list cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&list) || !d.Empty() {
			return false
		}
		for !list.Empty() {
			var v uint16
			if !list.ReadUint16(&v) {
				return false
			}
			ch.SupportedVersions = append(ch.SupportedVersions, Version(v))
		}
	case ExtSessionTicket:
		// RFC 5077, Section 3.2: the extension data is the ticket itself.
		ch.SessionTicketExt, ch.SessionTicket = true, e.Data
	case ExtPreSharedKey:
		// RFC 8446, Section 4.2.11: identities (identity, obfuscated age)
		// then binders.
		var ids, binders cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&ids) || !d.ReadUint16LengthPrefixed(&binders) || !d.Empty() {
			return false
		}
		for !ids.Empty() {
			var id cryptobyte.String
			var age uint32
			if !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&age) {
				return false
			}
			ch.PSKIdentities = append(ch.PSKIdentities, id)
			ch.PSKAges = append(ch.PSKAges, age)
		}
	case ExtEarlyData:
		// RFC 8446, Section 4.2.10: empty in a ClientHello.
		ch.EarlyData = true
	case ExtPSKKeyExchangeModes:
		// RFC 8446, Section 4.2.9.
		var modes cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&modes) || !d.Empty() {
			return false
		}
		ch.PSKModes = modes
	case ExtSupportedGroups:
		// RFC 8446, Section 4.2.7: NamedGroup named_group_list<2..2^16-1>.
		list, ok := readUint16List(&d)
		if !ok {
			return false
		}
		ch.SupportedGroups = list
	case ExtECPointFormats:
		// RFC 8422, Section 5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>.
		var formats cryptobyte.String
		if !d.ReadUint8LengthPrefixed(&formats) || !d.Empty() {
			return false
		}
		ch.ECPointFormats = formats
	case ExtSignatureAlgorithms:
		// RFC 8446, Section 4.2.3: SignatureScheme
		// supported_signature_algorithms<2..2^16-2>.
		list, ok := readUint16List(&d)
		if !ok {
			return false
		}
		ch.SignatureAlgorithms = list
	}
	return true
}

// readUint16List reads a list of 16-bit values behind a 16-bit length that
// fills the whole of d. The list is sized by bytes already present.
func readUint16List(d *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() || len(list)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		out = append(out, v)
	}
	return out, true
}
