package quic

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Opener removes packet protection for one direction of one packet
// number space: Initial, Handshake, 0-RTT, or 1-RTT with its key phases.
// It keeps the largest packet number it opened, against which truncated
// packet numbers are expanded (RFC 9000, Section 17.1), and a buffer it
// decrypts into. It is not safe for concurrent use.
//
// Open never writes to the packet it is given.
type Opener struct {
	keys    *Keys // current key phase
	prev    *Keys // the phase before, for packets reordered across an update
	next    *Keys // the phase after, derived when first needed
	phase   byte  // key phase bit of keys (1-RTT only)
	largest int64 // largest packet number opened, -1 for none

	buf    []byte
	shared *[]byte // ShareBuffer
	mask   [16]byte
	nonce  [ivLen]byte
}

// NewOpener returns an Opener for packets protected with k.
func NewOpener(k *Keys) *Opener { return &Opener{keys: k, largest: -1} }

// ShareBuffer makes the Opener decrypt into *b (grown as needed) instead
// of a buffer of its own, so that many Openers used by one goroutine hold
// one buffer: the payload Open returns is then valid until the next Open
// of any of them.
func (o *Opener) ShareBuffer(b *[]byte) { o.shared, o.buf = b, nil }

// Largest returns the largest packet number opened so far, -1 for none.
func (o *Opener) Largest() int64 { return o.largest }

// KeyPhase returns the number of key updates seen (RFC 9001, Section 6)
// modulo 2: the Key Phase bit of the current 1-RTT keys.
func (o *Opener) KeyPhase() int { return int(o.phase) }

// Open removes header protection (RFC 9001, Section 5.4), expands the
// packet number and opens the AEAD (Section 5.3), nonce = iv XOR packet
// number. It returns the plaintext payload (frames) and the packet
// number. The payload aliases the Opener's buffer and is valid until the
// next Open; p.Raw is only read. Its capacity is kept, so steady-state
// opening allocates nothing.
//
// For a short header whose Key Phase bit differs from the current
// phase, the next phase's keys are tried, and on success become current
// (RFC 9001, Section 6.3); the previous phase's keys are tried for a
// packet reordered across the update.
func (o *Opener) Open(p *Packet) (payload []byte, pn uint64, err error) {
	raw, off := p.Raw, p.PNOffset
	long := p.Type != PacketShort
	switch p.Type {
	case PacketInitial, Packet0RTT, PacketHandshake, PacketShort:
	default:
		return nil, 0, fmt.Errorf("quic: open: %v packets are not protected: %w", p.Type, ErrMalformed)
	}
	// RFC 9001, Section 5.4.2: the sample starts 4 bytes past the start
	// of the packet number field, as if it were 4 bytes long.
	if off < 1 || len(raw) < off+4+sampleLen {
		return nil, 0, fmt.Errorf("quic: open: %v of %d bytes too short to sample: %w", p.Type, len(raw), io.ErrUnexpectedEOF)
	}
	if err := o.keys.headerMask(&o.mask, raw[off+4:off+4+sampleLen]); err != nil {
		return nil, 0, err
	}
	// RFC 9001, Section 5.4.1: long headers protect the low 4 bits of
	// the first byte, short headers the low 5 (with the key phase).
	first := raw[0]
	if long {
		first ^= o.mask[0] & 0x0f
	} else {
		first ^= o.mask[0] & 0x1f
	}
	pnLen := int(first&3) + 1
	hdrLen := off + pnLen
	if len(raw) < hdrLen+aeadTagLen {
		return nil, 0, fmt.Errorf("quic: open: %v: %w", p.Type, io.ErrUnexpectedEOF)
	}
	if o.shared != nil {
		o.buf = *o.shared
	}
	if cap(o.buf) < len(raw) {
		o.buf = make([]byte, len(raw))
		if o.shared != nil {
			*o.shared = o.buf
		}
	}
	hdr := o.buf[:hdrLen]
	copy(hdr, raw[:hdrLen])
	hdr[0] = first
	var truncated uint64
	for i := range pnLen {
		hdr[off+i] ^= o.mask[1+i]
		truncated = truncated<<8 | uint64(hdr[off+i])
	}
	pn = decodePacketNumber(o.largest, truncated, pnLen*8)

	keys := o.keys
	phase := o.phase
	if !long {
		phase = first >> 2 & 1 // RFC 9000, Section 17.3.1: Key Phase
	}
	ct := raw[hdrLen:]
	switch {
	case phase == o.phase:
		payload, err = o.open(keys, pn, ct, hdr)
	default:
		if o.next == nil {
			if o.next, err = o.keys.Next(); err != nil {
				return nil, 0, err
			}
		}
		payload, err = o.open(o.next, pn, ct, hdr)
		if err == nil {
			o.prev, o.keys, o.next = o.keys, o.next, nil
			o.phase ^= 1
		} else if o.prev != nil {
			// The phase before the current one has the same bit: a
			// packet sent before the update, received after it.
			payload, err = o.open(o.prev, pn, ct, hdr)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	if int64(pn) > o.largest {
		o.largest = int64(pn)
	}
	return payload, pn, nil
}

// open opens ct into the buffer after hdr with k.
func (o *Opener) open(k *Keys, pn uint64, ct, hdr []byte) ([]byte, error) {
	copy(o.nonce[:], k.iv)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], pn)
	for i := range 8 {
		o.nonce[ivLen-8+i] ^= b[i]
	}
	out, err := k.aead.Open(o.buf[len(hdr):len(hdr)], o.nonce[:], ct, hdr)
	if err != nil {
		return nil, fmt.Errorf("quic: open: packet %d: %w", pn, ErrDecrypt)
	}
	return out, nil
}

// decodePacketNumber expands a truncated packet number of bits bits
// against the largest packet number seen in its space, -1 for none
// (RFC 9000, Section 17.1 and Appendix A.3): the candidate closest to
// largest+1.
func decodePacketNumber(largest int64, truncated uint64, bits int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << bits
	hwin := win / 2
	mask := win - 1
	candidate := expected&^mask | truncated
	switch {
	case candidate+hwin <= expected && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}
