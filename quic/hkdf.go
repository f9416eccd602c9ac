package quic

import (
	"errors"
	"hash"

	"github.com/tlsresume/tlsresume/tlscrypt"
)

// expandLabel is HKDF-Expand-Label (RFC 8446, Section 7.1, in
// tlscrypt) with an empty context, which is all QUIC asks of it (RFC
// 9001, Sections 5.1 and 5.2). Labels are this package's constants, so
// they always fit.
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	out := tlscrypt.ExpandLabel(h, secret, label, nil, length)
	if out == nil {
		return nil, errors.New("quic: hkdf-expand-label: length out of range")
	}
	return out, nil
}
