package tlscrypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

// ccm is CCM mode (NIST SP 800-38C; RFC 3610) over a 128-bit block cipher.
// Its scratch blocks live in the struct so that Seal and Open do not
// allocate; it is therefore not safe for concurrent use.
type ccm struct {
	b         cipher.Block
	nonceSize int // 7..13; L = 15 - nonceSize
	tagSize   int // 4, 6, ..., 16
	mac, ctr  [16]byte
	ks, blk   [16]byte
}

var errOpen = errors.New("tlscrypt: ccm: message authentication failed")

// NewCCM returns CCM over a 16-byte block cipher (AES) with the given
// nonce size (7 to 13 bytes; TLS uses 12) and tag size (4, 6, ..., 16;
// TLS uses 16, or 8 for the _8 suite). The AEAD is not safe for concurrent
// use.
func NewCCM(b cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("tlscrypt: ccm: block size is not 16")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("tlscrypt: ccm: nonce size out of 7..13")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("tlscrypt: ccm: tag size out of 4, 6, ..., 16")
	}
	return &ccm{b: b, nonceSize: nonceSize, tagSize: tagSize}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxLen is the longest message the length field of L = 15-n bytes holds.
func (c *ccm) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*l) - 1
}

// counter sets c.ctr to Ctr_i (SP 800-38C, Appendix A.3): flags L-1, the
// nonce, and i in L bytes.
func (c *ccm) counter(nonce []byte, i uint64) {
	l := 15 - c.nonceSize
	c.ctr[0] = byte(l - 1)
	copy(c.ctr[1:], nonce)
	for k := 15; k > c.nonceSize; k-- {
		c.ctr[k] = byte(i)
		i >>= 8
	}
}

// tag computes the CBC-MAC T of SP 800-38C, Section 6.1 into c.mac.
func (c *ccm) tag(nonce, plaintext, ad []byte) {
	l := 15 - c.nonceSize
	// B0 (Appendix A.2.1): flags = 64*Adata + 8*((t-2)/2) + (L-1), nonce, Q.
	flags := byte(8*((c.tagSize-2)/2) + l - 1)
	if len(ad) > 0 {
		flags |= 64
	}
	c.mac[0] = flags
	copy(c.mac[1:], nonce)
	q := uint64(len(plaintext))
	for k := 15; k > c.nonceSize; k-- {
		c.mac[k] = byte(q)
		q >>= 8
	}
	c.b.Encrypt(c.mac[:], c.mac[:])
	if len(ad) > 0 {
		// Appendix A.2.2: the length of a, then a, zero-padded to blocks.
		c.blk = [16]byte{}
		var n int
		switch a := uint64(len(ad)); {
		case a < 1<<16-1<<8:
			c.blk[0], c.blk[1] = byte(a>>8), byte(a)
			n = 2
		case a < 1<<32:
			c.blk[0], c.blk[1] = 0xff, 0xfe
			for k := range 4 {
				c.blk[2+k] = byte(a >> (24 - 8*k))
			}
			n = 6
		default:
			c.blk[0], c.blk[1] = 0xff, 0xff
			for k := range 8 {
				c.blk[2+k] = byte(a >> (56 - 8*k))
			}
			n = 10
		}
		m := copy(c.blk[n:], ad)
		c.macBlock(c.blk[:])
		c.macData(ad[m:])
	}
	c.macData(plaintext)
}

func (c *ccm) macBlock(b []byte) {
	subtle.XORBytes(c.mac[:], c.mac[:], b)
	c.b.Encrypt(c.mac[:], c.mac[:])
}

// macData runs the CBC-MAC over p, zero-padding the last block.
func (c *ccm) macData(p []byte) {
	for len(p) >= 16 {
		c.macBlock(p[:16])
		p = p[16:]
	}
	if len(p) > 0 {
		c.blk = [16]byte{}
		copy(c.blk[:], p)
		c.macBlock(c.blk[:])
	}
}

// xorKeyStream encrypts or decrypts src into dst with counters 1, 2, ...
// (SP 800-38C, Section 6.1, steps 5 to 8).
func (c *ccm) xorKeyStream(dst, src, nonce []byte) {
	for i := uint64(1); len(src) > 0; i++ {
		c.counter(nonce, i)
		c.b.Encrypt(c.ks[:], c.ctr[:])
		n := subtle.XORBytes(dst, src, c.ks[:])
		dst, src = dst[n:], src[n:]
	}
}

// sliceForAppend is the usual AEAD helper: it extends in and returns the
// whole and the new tail.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

func (c *ccm) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("tlscrypt: ccm: incorrect nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("tlscrypt: ccm: message too large")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	c.tag(nonce, plaintext, additionalData)
	c.xorKeyStream(out, plaintext, nonce)
	c.counter(nonce, 0)
	c.b.Encrypt(c.ks[:], c.ctr[:])
	subtle.XORBytes(out[len(plaintext):], c.mac[:c.tagSize], c.ks[:c.tagSize])
	return ret
}

func (c *ccm) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize || len(ciphertext) < c.tagSize {
		return nil, errOpen
	}
	n := len(ciphertext) - c.tagSize
	if uint64(n) > c.maxLen() {
		return nil, errOpen
	}
	var want [16]byte
	c.counter(nonce, 0)
	c.b.Encrypt(c.ks[:], c.ctr[:])
	subtle.XORBytes(want[:c.tagSize], ciphertext[n:], c.ks[:c.tagSize])
	ret, out := sliceForAppend(dst, n)
	c.xorKeyStream(out, ciphertext[:n], nonce)
	c.tag(nonce, out, additionalData)
	if subtle.ConstantTimeCompare(c.mac[:c.tagSize], want[:c.tagSize]) != 1 {
		clear(out)
		return nil, errOpen
	}
	return ret, nil
}
