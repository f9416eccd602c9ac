package tlscrypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
)

// ErrMalformed is wrapped by errors for bytes that cannot be a TLS 1.3
// record or message.
var ErrMalformed = errors.New("tlscrypt: malformed")

// ErrUnsupportedSuite is returned for a cipher suite that is not one of
// RFC 8446, Appendix B.4.
var ErrUnsupportedSuite = errors.New("tlscrypt: unsupported cipher suite")

// Suite is a TLS 1.3 cipher suite (RFC 8446, Appendix B.4).
type Suite uint16

// The TLS 1.3 cipher suites.
const (
	TLS_AES_128_GCM_SHA256       Suite = 0x1301
	TLS_AES_256_GCM_SHA384       Suite = 0x1302
	TLS_CHACHA20_POLY1305_SHA256 Suite = 0x1303
	TLS_AES_128_CCM_SHA256       Suite = 0x1304
	TLS_AES_128_CCM_8_SHA256     Suite = 0x1305
)

type suiteInfo struct {
	name   string
	hash   func() hash.Hash
	keyLen int
}

func (s Suite) info() (suiteInfo, bool) {
	switch s {
	case TLS_AES_128_GCM_SHA256:
		return suiteInfo{"TLS_AES_128_GCM_SHA256", sha256.New, 16}, true
	case TLS_AES_256_GCM_SHA384:
		return suiteInfo{"TLS_AES_256_GCM_SHA384", sha512.New384, 32}, true
	case TLS_CHACHA20_POLY1305_SHA256:
		return suiteInfo{"TLS_CHACHA20_POLY1305_SHA256", sha256.New, 32}, true
	case TLS_AES_128_CCM_SHA256:
		return suiteInfo{"TLS_AES_128_CCM_SHA256", sha256.New, 16}, true
	case TLS_AES_128_CCM_8_SHA256:
		return suiteInfo{"TLS_AES_128_CCM_8_SHA256", sha256.New, 16}, true
	}
	return suiteInfo{}, false
}

// String returns the IANA name, or 0xNNNN.
func (s Suite) String() string {
	if i, ok := s.info(); ok {
		return i.name
	}
	return fmt.Sprintf("0x%04x", uint16(s))
}

// Hash returns the suite's hash constructor, nil when unsupported.
func (s Suite) Hash() func() hash.Hash {
	i, _ := s.info()
	return i.hash
}

// ivLen is the per-record nonce length of every TLS 1.3 AEAD (RFC 8446,
// Section 5.3: iv_length is max(8, N_MIN), 12 for all of Appendix B.4).
const ivLen = 12

// ExpandLabel is HKDF-Expand-Label (RFC 8446, Section 7.1): HKDF-Expand of
// secret with the HkdfLabel {length, "tls13 " + label, context}. It returns
// nil when length is over what HKDF can give (255 hash lengths) or label
// or context are over their 255-byte bounds.
func ExpandLabel(hash func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	const prefix = "tls13 "
	if length < 0 || length > 0xffff || len(prefix)+len(label) > 255 || len(context) > 255 {
		return nil
	}
	// struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel;
	info := make([]byte, 0, 4+len(prefix)+len(label)+len(context))
	info = append(info, byte(length>>8), byte(length), byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out, err := hkdf.Expand(hash, secret, string(info), length)
	if err != nil {
		return nil
	}
	return out
}

// TrafficKeys derives the write key and IV of a traffic secret (RFC 8446,
// Section 7.3): HKDF-Expand-Label(secret, "key", "", key_length) and
// HKDF-Expand-Label(secret, "iv", "", 12).
func TrafficKeys(suite Suite, secret []byte) (key, iv []byte, err error) {
	i, ok := suite.info()
	if !ok {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnsupportedSuite, suite)
	}
	return ExpandLabel(i.hash, secret, "key", nil, i.keyLen), ExpandLabel(i.hash, secret, "iv", nil, ivLen), nil
}

// NextSecret derives application_traffic_secret_N+1 from _N for a
// KeyUpdate (RFC 8446, Section 7.2): HKDF-Expand-Label(secret,
// "traffic upd", "", Hash.length).
func NextSecret(suite Suite, secret []byte) ([]byte, error) {
	i, ok := suite.info()
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedSuite, suite)
	}
	return ExpandLabel(i.hash, secret, "traffic upd", nil, i.hash().Size()), nil
}
