package tlscrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrAuth is returned by Open for a record that does not authenticate:
// the secret is not this direction's, or the bytes were damaged. The
// caller counts it and keeps what it knew without keys.
var ErrAuth = errors.New("tlscrypt: record authentication failed")

// Record layer bounds (RFC 8446, Section 5.2).
const (
	recordHeaderLen = 5
	// MaxCiphertext is the longest TLSCiphertext.encrypted_record: 2^14
	// plus 256 bytes of expansion.
	MaxCiphertext = 1<<14 + 256
)

// Decrypter opens the protected records of one direction of a TLS 1.3
// connection under one traffic secret (RFC 8446, Section 5.2).
type Decrypter struct {
	suite  Suite
	secret []byte
	aead   cipher.AEAD
	iv     [ivLen]byte
	nonce  [ivLen]byte
	seq    uint64
	buf    []byte
}

// NewDecrypter returns a Decrypter for a traffic secret of suite, at
// sequence number 0.
func NewDecrypter(suite Suite, secret []byte) (*Decrypter, error) {
	d := &Decrypter{suite: suite}
	if err := d.setSecret(secret); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Decrypter) setSecret(secret []byte) error {
	key, iv, err := TrafficKeys(d.suite, secret)
	if err != nil {
		return err
	}
	if key == nil || len(iv) != ivLen {
		return fmt.Errorf("tlscrypt: traffic secret of %d bytes: %w", len(secret), ErrMalformed)
	}
	var aead cipher.AEAD
	switch d.suite {
	case TLS_CHACHA20_POLY1305_SHA256:
		aead, err = chacha20poly1305.New(key)
	default:
		var b cipher.Block
		if b, err = aes.NewCipher(key); err != nil {
			break
		}
		switch d.suite {
		case TLS_AES_128_CCM_SHA256:
			aead, err = NewCCM(b, ivLen, 16)
		case TLS_AES_128_CCM_8_SHA256:
			aead, err = NewCCM(b, ivLen, 8)
		default:
			aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		return fmt.Errorf("tlscrypt: %v: %w", d.suite, err)
	}
	d.secret = append(d.secret[:0], secret...)
	d.aead = aead
	copy(d.iv[:], iv)
	d.seq = 0
	return nil
}

// Suite returns the cipher suite.
func (d *Decrypter) Suite() Suite { return d.suite }

// Seq returns the sequence number the next record will be opened with.
func (d *Decrypter) Seq() uint64 { return d.seq }

// Update applies a KeyUpdate (RFC 8446, Section 4.6.3): the next traffic
// secret (Section 7.2), new key and IV, sequence number back to 0.
func (d *Decrypter) Update() error {
	next, err := NextSecret(d.suite, d.secret)
	if err != nil {
		return err
	}
	return d.setSecret(next)
}

// Open decrypts one whole TLSCiphertext record, 5-byte header included
// (RFC 8446, Section 5.2), and returns the inner content type and the
// plaintext without its padding. The plaintext aliases the Decrypter's
// buffer and is valid until the next Open. Every record that has a valid
// header consumes a sequence number, whether or not it authenticates,
// since the sender counted it too. A record that does not authenticate
// returns ErrAuth; a short record io.ErrUnexpectedEOF; a bad header or an
// all-zero plaintext an error wrapping ErrMalformed.
func (d *Decrypter) Open(record []byte) (contentType byte, plaintext []byte, err error) {
	if len(record) < recordHeaderLen {
		return 0, nil, io.ErrUnexpectedEOF
	}
	// RFC 8446, Section 5.2: opaque_type is application_data (23),
	// legacy_record_version 0x0303, length at most 2^14 + 256.
	n := int(record[3])<<8 | int(record[4])
	if record[0] != 23 {
		return 0, nil, fmt.Errorf("tlscrypt: record type %d is not application_data: %w", record[0], ErrMalformed)
	}
	if n > MaxCiphertext {
		return 0, nil, fmt.Errorf("tlscrypt: record of %d bytes: %w", n, ErrMalformed)
	}
	if len(record) < recordHeaderLen+n {
		return 0, nil, io.ErrUnexpectedEOF
	}
	if len(record) > recordHeaderLen+n {
		return 0, nil, fmt.Errorf("tlscrypt: %d bytes after the record: %w", len(record)-recordHeaderLen-n, ErrMalformed)
	}
	// RFC 8446, Section 5.3: the nonce is the IV XOR the 64-bit sequence
	// number, big-endian, left-padded to the IV length.
	d.nonce = d.iv
	for k := range 8 {
		d.nonce[ivLen-1-k] ^= byte(d.seq >> (8 * k))
	}
	d.seq++
	if cap(d.buf) < n {
		d.buf = make([]byte, 0, MaxCiphertext)
	}
	// RFC 8446, Section 5.2: the additional data is the record header.
	out, err := d.aead.Open(d.buf[:0], d.nonce[:], record[recordHeaderLen:], record[:recordHeaderLen])
	if err != nil {
		return 0, nil, ErrAuth
	}
	// RFC 8446, Section 5.4: the content type is the last non-zero byte;
	// zeros after it are padding. All zeros is an unexpected_message.
	i := len(out) - 1
	for i >= 0 && out[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, fmt.Errorf("tlscrypt: record without content type: %w", ErrMalformed)
	}
	return out[i], out[:i], nil
}
