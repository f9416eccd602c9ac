package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// NewSessionTicket is a TLS 1.2 NewSessionTicket (RFC 5077, Section 3.3).
// TLS 1.3 sends its tickets encrypted, so they are never parsed here.
// Ticket aliases the parsed body.
type NewSessionTicket struct {
	LifetimeHint uint32 // seconds; 0 means unspecified
	Ticket       []byte
}

// ParseNewSessionTicket parses a TLS 1.2 NewSessionTicket body.
func ParseNewSessionTicket(body []byte) (*NewSessionTicket, error) {
	s := cryptobyte.String(body)
	var t NewSessionTicket
	var ticket cryptobyte.String
	// RFC 5077, Section 3.3: ticket_lifetime_hint, opaque ticket<0..2^16-1>.
	if !s.ReadUint32(&t.LifetimeHint) || !s.ReadUint16LengthPrefixed(&ticket) || !s.Empty() {
		return nil, fmt.Errorf("tlsparse: new session ticket: %w", ErrMalformed)
	}
	t.Ticket = ticket
	return &t, nil
}
