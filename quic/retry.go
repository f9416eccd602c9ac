package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// CheckRetry verifies the Retry Integrity Tag of a Retry packet p
// (RFC 9001, Section 5.8; RFC 9369, Section 3.3.3) against odcid, the
// Destination Connection ID of the client's Initial that the Retry
// answers. On success it returns the Retry's Source Connection ID: the
// client's next Initials go to it, and their keys come from it
// ([InitialKeys]). The returned slice aliases p.Raw.
func CheckRetry(odcid []byte, p *Packet) (scid []byte, err error) {
	if p.Type != PacketRetry {
		return nil, fmt.Errorf("quic: retry: a %v packet: %w", p.Type, ErrMalformed)
	}
	pr := paramsFor(p.Version)
	if pr == nil {
		return nil, fmt.Errorf("quic: retry: %v: %w", p.Version, ErrUnknownVersion)
	}
	if len(odcid) > MaxConnIDLen || len(p.Raw) < retryTagLen {
		return nil, fmt.Errorf("quic: retry: %w", ErrMalformed)
	}
	body, tag := p.Raw[:len(p.Raw)-retryTagLen], p.Raw[len(p.Raw)-retryTagLen:]
	// RFC 9001, Section 5.8, Figure 8: the Retry Pseudo-Packet is the
	// ODCID with its length, then the Retry packet without its tag; it is
	// the associated data of an AEAD over an empty plaintext.
	aad := make([]byte, 0, 1+len(odcid)+len(body))
	aad = append(aad, byte(len(odcid)))
	aad = append(aad, odcid...)
	aad = append(aad, body...)
	block, err := aes.NewCipher(pr.retryKey[:])
	if err != nil {
		return nil, fmt.Errorf("quic: retry: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("quic: retry: %w", err)
	}
	if _, err := aead.Open(nil, pr.retryNonce[:], tag, aad); err != nil {
		return nil, fmt.Errorf("quic: retry: %w", ErrRetryIntegrity)
	}
	return p.SCID, nil
}
