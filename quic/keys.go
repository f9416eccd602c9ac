package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// Suite is a TLS 1.3 cipher suite (RFC 8446, Appendix B.4): it names the
// AEAD and hash that protect QUIC packets (RFC 9001, Section 5).
type Suite uint16

const (
	TLS_AES_128_GCM_SHA256       Suite = 0x1301
	TLS_AES_256_GCM_SHA384       Suite = 0x1302
	TLS_CHACHA20_POLY1305_SHA256 Suite = 0x1303
)

func (s Suite) String() string {
	switch s {
	case TLS_AES_128_GCM_SHA256:
		return "TLS_AES_128_GCM_SHA256"
	case TLS_AES_256_GCM_SHA384:
		return "TLS_AES_256_GCM_SHA384"
	case TLS_CHACHA20_POLY1305_SHA256:
		return "TLS_CHACHA20_POLY1305_SHA256"
	}
	return fmt.Sprintf("0x%04x", uint16(s))
}

// hash returns the suite's hash and its AEAD key length, or nil.
func (s Suite) hash() (func() hash.Hash, int) {
	switch s {
	case TLS_AES_128_GCM_SHA256:
		return sha256.New, 16
	case TLS_AES_256_GCM_SHA384:
		return sha512.New384, 32
	case TLS_CHACHA20_POLY1305_SHA256:
		return sha256.New, chacha20poly1305.KeySize
	}
	return nil, 0
}

const (
	aeadTagLen  = 16 // every AEAD QUIC uses has a 16-byte tag (RFC 9001, Section 5.3)
	ivLen       = 12 // RFC 9001, Section 5.3: iv length = nonce length
	sampleLen   = 16 // RFC 9001, Section 5.4.2
	retryTagLen = 16 // RFC 9001, Section 5.8
)

// Keys protect one direction of one packet number space (RFC 9001,
// Section 5.1): the AEAD key and IV, the header protection key, and the
// secret they came from (for a key update, Section 6). Keys are immutable
// once made and safe for concurrent use.
type Keys struct {
	version Version
	suite   Suite
	secret  []byte
	key, iv []byte
	hpKey   []byte
	aead    cipher.AEAD
	hpBlock cipher.Block // AES suites; nil for ChaCha20
}

// Version returns the QUIC version whose labels made the keys.
func (k *Keys) Version() Version { return k.version }

// Suite returns the cipher suite of the keys.
func (k *Keys) Suite() Suite { return k.suite }

// NewKeys derives packet and header protection keys from a TLS 1.3
// traffic secret (from a key log: CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_TRAFFIC_SECRET_0, ...) for the suite the ServerHello chose and
// the connection's version (RFC 9001, Section 5.1; RFC 9369,
// Section 3.3.2). secret is copied.
func NewKeys(v Version, suite Suite, secret []byte) (*Keys, error) {
	pr := paramsFor(v)
	if pr == nil {
		return nil, fmt.Errorf("quic: keys: %v: %w", v, ErrUnknownVersion)
	}
	h, keyLen := suite.hash()
	if h == nil {
		return nil, fmt.Errorf("quic: keys: cipher suite %v is not a TLS 1.3 suite QUIC uses", suite)
	}
	if len(secret) != h().Size() {
		return nil, fmt.Errorf("quic: keys: %d-byte secret for %v, want %d", len(secret), suite, h().Size())
	}
	k := &Keys{version: v, suite: suite, secret: append([]byte(nil), secret...)}
	var err error
	if k.key, err = expandLabel(h, secret, pr.key, keyLen); err != nil {
		return nil, fmt.Errorf("quic: keys: %w", err)
	}
	if k.iv, err = expandLabel(h, secret, pr.iv, ivLen); err != nil {
		return nil, fmt.Errorf("quic: keys: %w", err)
	}
	// RFC 9001, Section 5.4.3 and 5.4.4: the header protection key has
	// the AEAD key's length.
	if k.hpKey, err = expandLabel(h, secret, pr.hp, keyLen); err != nil {
		return nil, fmt.Errorf("quic: keys: %w", err)
	}
	if err := k.build(); err != nil {
		return nil, err
	}
	return k, nil
}

// build makes the AEAD and header protection cipher from the key bytes.
func (k *Keys) build() error {
	var err error
	if k.suite == TLS_CHACHA20_POLY1305_SHA256 {
		// RFC 9001, Section 5.3: AEAD_CHACHA20_POLY1305 (RFC 8439).
		k.aead, err = chacha20poly1305.New(k.key)
		if err != nil {
			return fmt.Errorf("quic: keys: %w", err)
		}
		return nil
	}
	// RFC 9001, Section 5.3: AEAD_AES_128_GCM or AEAD_AES_256_GCM;
	// Section 5.4.3: AES-ECB header protection with the hp key.
	block, err := aes.NewCipher(k.key)
	if err != nil {
		return fmt.Errorf("quic: keys: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return fmt.Errorf("quic: keys: %w", err)
	}
	if k.hpBlock, err = aes.NewCipher(k.hpKey); err != nil {
		return fmt.Errorf("quic: keys: %w", err)
	}
	return nil
}

// InitialKeys derives the Initial keys of both directions from the
// Destination Connection ID of the client's first Initial packet, or from
// the Source Connection ID of a Retry for the client's Initials after it
// (RFC 9001, Section 5.2; RFC 9369, Section 3.3.1). Initial packets use
// AEAD_AES_128_GCM.
func InitialKeys(v Version, dcid []byte) (client, server *Keys, err error) {
	pr := paramsFor(v)
	if pr == nil {
		return nil, nil, fmt.Errorf("quic: initial keys: %v: %w", v, ErrUnknownVersion)
	}
	initial, err := hkdf.Extract(sha256.New, dcid, pr.salt)
	if err != nil {
		return nil, nil, fmt.Errorf("quic: initial keys: %w", err)
	}
	cs, err := expandLabel(sha256.New, initial, "client in", sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("quic: initial keys: %w", err)
	}
	ss, err := expandLabel(sha256.New, initial, "server in", sha256.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("quic: initial keys: %w", err)
	}
	if client, err = NewKeys(v, TLS_AES_128_GCM_SHA256, cs); err != nil {
		return nil, nil, err
	}
	if server, err = NewKeys(v, TLS_AES_128_GCM_SHA256, ss); err != nil {
		return nil, nil, err
	}
	return client, server, nil
}

// Next returns the keys of the next key phase (RFC 9001, Section 6.1):
// the secret becomes HKDF-Expand-Label(secret, "quic ku" or "quicv2 ku",
// "", Hash.length), from which new AEAD keys and IV are derived. The
// header protection key is not updated.
func (k *Keys) Next() (*Keys, error) {
	pr := paramsFor(k.version)
	h, keyLen := k.suite.hash()
	secret, err := expandLabel(h, k.secret, pr.ku, len(k.secret))
	if err != nil {
		return nil, fmt.Errorf("quic: key update: %w", err)
	}
	n := &Keys{version: k.version, suite: k.suite, secret: secret, hpKey: k.hpKey}
	if n.key, err = expandLabel(h, secret, pr.key, keyLen); err != nil {
		return nil, fmt.Errorf("quic: key update: %w", err)
	}
	if n.iv, err = expandLabel(h, secret, pr.iv, ivLen); err != nil {
		return nil, fmt.Errorf("quic: key update: %w", err)
	}
	if err := n.build(); err != nil {
		return nil, err
	}
	return n, nil
}

// headerMask computes the header protection mask for a 16-byte sample
// into mask (RFC 9001, Section 5.4.1): AES-ECB of the sample for AES
// suites (Section 5.4.3); for ChaCha20 the first 4 sample bytes are the
// little-endian block counter, the other 12 the nonce, and the mask is
// the key stream over five zero bytes (Section 5.4.4).
func (k *Keys) headerMask(mask *[16]byte, sample []byte) error {
	if k.hpBlock != nil {
		k.hpBlock.Encrypt(mask[:], sample)
		return nil
	}
	c, err := chacha20.NewUnauthenticatedCipher(k.hpKey, sample[4:16])
	if err != nil {
		return fmt.Errorf("quic: header protection: %w", err)
	}
	c.SetCounter(uint32(sample[0]) | uint32(sample[1])<<8 | uint32(sample[2])<<16 | uint32(sample[3])<<24)
	clear(mask[:5])
	c.XORKeyStream(mask[:5], mask[:5])
	return nil
}
