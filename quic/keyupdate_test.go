package quic

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// protect is a test-only sender for a short-header packet with an empty
// DCID and a 2-byte packet number (RFC 9001, Sections 5.3 and 5.4).
func protect(t *testing.T, k *Keys, phase byte, pn uint64, payload []byte) []byte {
	t.Helper()
	hdr := []byte{0x40 | phase<<2 | 0x01, byte(pn >> 8), byte(pn)} // RFC 9000, Section 17.3.1: pn length 2
	var nonce [12]byte
	copy(nonce[:], k.iv)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], pn)
	for i := range 8 {
		nonce[4+i] ^= b[i]
	}
	pkt := k.aead.Seal(bytes.Clone(hdr), nonce[:], payload, hdr)
	var mask [16]byte
	if err := k.headerMask(&mask, pkt[1+4:1+4+16]); err != nil {
		t.Fatal(err)
	}
	pkt[0] ^= mask[0] & 0x1f
	pkt[1] ^= mask[1]
	pkt[2] ^= mask[2]
	return pkt
}

// TestKeyUpdate follows a peer through two key updates (RFC 9001,
// Section 6), with a packet of the old phase reordered after the first.
// The key update secret itself is checked against RFC 9001, Appendix A.5
// in TestChaChaKeys.
func TestKeyUpdate(t *testing.T) {
	secret := unhex(t, "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b")
	for _, suite := range []Suite{TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384} {
		t.Run(suite.String(), func(t *testing.T) {
			h, _ := suite.hash()
			k0, err := NewKeys(Version1, suite, bytes.Repeat(secret, 2)[:h().Size()])
			if err != nil {
				t.Fatal(err)
			}
			k1, _ := k0.Next()
			k2, _ := k1.Next()
			payload := []byte{0x01, 0, 0, 0, 0} // PING and PADDING
			o := NewOpener(k0)
			for i, step := range []struct {
				keys  *Keys
				phase byte
				pn    uint64
				after int // key phase after the packet
			}{
				{k0, 0, 10, 0},
				{k1, 1, 11, 1}, // update
				{k0, 0, 9, 1},  // reordered: old phase, earlier packet
				{k1, 1, 12, 1},
				{k2, 0, 13, 0}, // second update: the bit flips back
			} {
				p, err := ParseShort(protect(t, step.keys, step.phase, step.pn, payload), 0)
				if err != nil {
					t.Fatal(err)
				}
				got, pn, err := o.Open(&p)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if pn != step.pn || !bytes.Equal(got, payload) || o.KeyPhase() != step.after {
					t.Errorf("packet %d: pn %d payload %x phase %d, want %d %x %d", i, pn, got, o.KeyPhase(), step.pn, payload, step.after)
				}
			}
			if o.Largest() != 13 {
				t.Errorf("largest %d", o.Largest())
			}
		})
	}
}
