package quic

import (
	"crypto/hkdf"
	"hash"
)

// expandLabel is HKDF-Expand-Label (RFC 8446, Section 7.1) with an empty
// context, which is all QUIC asks of it (RFC 9001, Sections 5.1 and 5.2):
// HKDF-Expand(secret, HkdfLabel, length) where HkdfLabel is
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
//
// Labels are this package's constants, so they always fit.
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	return hkdf.Expand(h, secret, string(hkdfLabel(label, length)), length)
}

// hkdfLabel encodes the HkdfLabel structure with an empty context.
func hkdfLabel(label string, length int) []byte {
	const prefix = "tls13 "
	info := make([]byte, 0, 2+1+len(prefix)+len(label)+1)
	info = append(info, byte(length>>8), byte(length), byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	return append(info, 0) // empty context
}
