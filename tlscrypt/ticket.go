package tlscrypt

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// extEarlyData is the early_data extension (RFC 8446, Section 4.2.10).
const extEarlyData = 42

// NewSessionTicket13 is a TLS 1.3 NewSessionTicket (RFC 8446, Section
// 4.6.1). Nonce and Ticket alias the parsed body.
type NewSessionTicket13 struct {
	Lifetime uint32 // ticket_lifetime, seconds
	AgeAdd   uint32 // ticket_age_add
	Nonce    []byte
	Ticket   []byte // the PSK identity the client will offer
	// EarlyData is set when the early_data extension is present;
	// MaxEarlyDataSize is its max_early_data_size.
	EarlyData        bool
	MaxEarlyDataSize uint32
	// ExtensionTypes lists every extension in wire order, early_data
	// included.
	ExtensionTypes []uint16
}

// ParseNewSessionTicket13 parses a TLS 1.3 NewSessionTicket body, without
// the 4-byte handshake header. Unknown extensions are skipped.
func ParseNewSessionTicket13(body []byte) (*NewSessionTicket13, error) {
	s := cryptobyte.String(body)
	t := &NewSessionTicket13{}
	var nonce, ticket, exts cryptobyte.String
	// RFC 8446, Section 4.6.1: ticket_lifetime, ticket_age_add,
	// ticket_nonce<0..255>, ticket<1..2^16-1>, extensions<0..2^16-2>.
	if !s.ReadUint32(&t.Lifetime) || !s.ReadUint32(&t.AgeAdd) ||
		!s.ReadUint8LengthPrefixed(&nonce) || !s.ReadUint16LengthPrefixed(&ticket) ||
		!s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, fmt.Errorf("tlscrypt: new session ticket: %w", ErrMalformed)
	}
	if len(ticket) == 0 {
		return nil, fmt.Errorf("tlscrypt: new session ticket: empty ticket: %w", ErrMalformed)
	}
	t.Nonce, t.Ticket = nonce, ticket
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, fmt.Errorf("tlscrypt: new session ticket extensions: %w", ErrMalformed)
		}
		t.ExtensionTypes = append(t.ExtensionTypes, typ)
		if typ == extEarlyData {
			// RFC 8446, Section 4.2.10: uint32 max_early_data_size.
			if !data.ReadUint32(&t.MaxEarlyDataSize) || !data.Empty() {
				return nil, fmt.Errorf("tlscrypt: new session ticket early_data: %w", ErrMalformed)
			}
			t.EarlyData = true
		}
	}
	return t, nil
}
