package quic

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// TestOpenInitial opens the client and server Initial packets of RFC 9001,
// Appendix A.2 and A.3 and RFC 9369, Appendix A.2 and A.3.
func TestOpenInitial(t *testing.T) {
	for _, tt := range []struct {
		name       string
		v          Version
		packet     string
		server     bool
		wantPN     uint64
		wantPrefix string // the unprotected payload the RFC prints
		payloadLen int
		scid       string
	}{
		{"v1 client", Version1, v1ClientPacket, false, 2, v1ClientCrypto, 1162, ""},
		{"v1 server", Version1, v1ServerPacket, true, 1, v1ServerPayload, 99, "f067a5502a4262b5"},
		{"v2 client", Version2, v2ClientPacket, false, 2, v2ClientCrypto, 1162, ""},
		{"v2 server", Version2, v2ServerPacket, true, 1, v2ServerPayload, 99, "f067a5502a4262b5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dg := unhex(t, tt.packet)
			orig := bytes.Clone(dg)
			p, rest, err := NextPacket(dg, -1)
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) != 0 || p.Type != PacketInitial || p.Version != tt.v {
				t.Fatalf("got %v %v with %d bytes after", p.Type, p.Version, len(rest))
			}
			if !tt.server && !bytes.Equal(p.DCID, rfcDCID) {
				t.Errorf("DCID %x", p.DCID)
			}
			if hex.EncodeToString(p.SCID) != tt.scid {
				t.Errorf("SCID %x, want %s", p.SCID, tt.scid)
			}
			c, s, err := InitialKeys(tt.v, rfcDCID)
			if err != nil {
				t.Fatal(err)
			}
			k := c
			if tt.server {
				k = s
			}
			o := NewOpener(k)
			payload, pn, err := o.Open(&p)
			if err != nil {
				t.Fatal(err)
			}
			if pn != tt.wantPN {
				t.Errorf("packet number %d, want %d", pn, tt.wantPN)
			}
			want := unhex(t, tt.wantPrefix)
			if len(payload) != tt.payloadLen || !bytes.HasPrefix(payload, want) {
				t.Errorf("payload %d bytes %x..., want %d bytes starting %x", len(payload), payload[:min(len(payload), 32)], tt.payloadLen, want[:32])
			}
			if bytes.ContainsFunc(payload[len(want):], func(r rune) bool { return r != 0 }) {
				t.Error("padding after the CRYPTO frame is not zeros")
			}
			if !bytes.Equal(dg, orig) {
				t.Error("Open wrote to the datagram")
			}
			// The other direction's keys do not open it.
			wrong := s
			if tt.server {
				wrong = c
			}
			if _, _, err := NewOpener(wrong).Open(&p); !errors.Is(err, ErrDecrypt) {
				t.Errorf("opened with the other direction's keys: %v", err)
			}
			// Nor does a packet with one flipped bit.
			dg[len(dg)-1] ^= 1
			if _, _, err := NewOpener(k).Open(&p); !errors.Is(err, ErrDecrypt) {
				t.Errorf("opened a corrupted packet: %v", err)
			}
		})
	}
}

// TestOpenChaChaShort opens the short-header packet of RFC 9001, Appendix
// A.5 and RFC 9369, Appendix A.5: packet number 654360564 sent as 49140 in
// 3 bytes, payload one PING frame.
func TestOpenChaChaShort(t *testing.T) {
	secret := unhex(t, "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b")
	for _, tt := range []struct {
		v      Version
		packet string
	}{
		{Version1, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"},
		{Version2, "5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba"},
	} {
		t.Run(tt.v.String(), func(t *testing.T) {
			k, err := NewKeys(tt.v, TLS_CHACHA20_POLY1305_SHA256, secret)
			if err != nil {
				t.Fatal(err)
			}
			p, rest, err := NextPacket(unhex(t, tt.packet), 0)
			if err != nil || rest != nil || p.Type != PacketShort {
				t.Fatalf("NextPacket: %v %v %d", p.Type, err, len(rest))
			}
			o := NewOpener(k)
			o.largest = 654360563
			payload, pn, err := o.Open(&p)
			if err != nil {
				t.Fatal(err)
			}
			if pn != 654360564 || !bytes.Equal(payload, []byte{0x01}) {
				t.Errorf("pn %d payload %x, want 654360564 01", pn, payload)
			}
			if o.KeyPhase() != 0 || o.Largest() != 654360564 {
				t.Errorf("key phase %d largest %d", o.KeyPhase(), o.Largest())
			}
		})
	}
}

// TestDecodePacketNumber checks RFC 9000, Appendix A.3's example and the
// edges of the window.
func TestDecodePacketNumber(t *testing.T) {
	for _, tt := range []struct {
		largest   int64
		truncated uint64
		bits      int
		want      uint64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32}, // RFC 9000, Appendix A.3
		{-1, 0, 8, 0},
		{-1, 2, 32, 2},
		{0xff, 0x00, 8, 0x100},
		{0x100, 0xff, 8, 0xff},
		{654360563, 49140, 24, 654360564}, // RFC 9001, Appendix A.5
		{1<<62 - 2, 0xff, 8, 1<<62 - 1},
	} {
		if got := decodePacketNumber(tt.largest, tt.truncated, tt.bits); got != tt.want {
			t.Errorf("decode(%#x, %#x, %d) = %#x, want %#x", tt.largest, tt.truncated, tt.bits, got, tt.want)
		}
	}
}
