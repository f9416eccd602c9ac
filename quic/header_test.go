package quic

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestParseLongRFC(t *testing.T) {
	// RFC 9001, Appendix A.2: 8-byte DCID, empty SCID and token, Length
	// 0x449e = 1182.
	p, rest, err := NextPacket(unhex(t, v1ClientPacket), -1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != PacketInitial || p.Version != Version1 || !bytes.Equal(p.DCID, rfcDCID) ||
		len(p.SCID) != 0 || len(p.Token) != 0 || p.PNOffset != 18 || len(p.Raw) != 18+1182 || len(rest) != 0 {
		t.Errorf("got %v %v dcid %x scid %x token %x pn at %d, %d bytes", p.Type, p.Version, p.DCID, p.SCID, p.Token, p.PNOffset, len(p.Raw))
	}
	// Every proper prefix is short, never a packet.
	b := unhex(t, v1ServerPacket)
	for i := range len(b) {
		if _, _, err := NextPacket(b[:i], -1); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix of %d bytes: %v, want io.ErrUnexpectedEOF", i, err)
		}
	}
}

// TestCoalesced walks a datagram of the server's Initial of RFC 9001,
// Appendix A.3, the same again, and a 1-RTT packet (RFC 9000, Section
// 12.2: a short header runs to the end).
func TestCoalesced(t *testing.T) {
	init := unhex(t, v1ServerPacket)
	short := unhex(t, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb")
	dg := slices.Concat(init, init, short)
	var types []PacketType
	for rest := dg; len(rest) > 0; {
		p, r, err := NextPacket(rest, 0)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Type)
		rest = r
	}
	if want := []PacketType{PacketInitial, PacketInitial, PacketShort}; !slices.Equal(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
}

func TestVersionNegotiation(t *testing.T) {
	// RFC 9000, Section 17.2.1: first byte with the high bit set and the
	// others unused (here 0x80: the Fixed Bit clear), version 0, DCID,
	// SCID, then versions.
	b := unhex(t, "80"+"00000000"+"04"+"01020304"+"02"+"0506"+"00000001"+"6b3343cf"+"1a2a3a4a")
	p, rest, err := NextPacket(b, -1)
	if err != nil {
		t.Fatal(err)
	}
	got := p.SupportedVersions(nil)
	want := []Version{Version1, Version2, 0x1a2a3a4a}
	if p.Type != PacketVersionNegotiation || !slices.Equal(got, want) || rest != nil ||
		hex.EncodeToString(p.DCID) != "01020304" || hex.EncodeToString(p.SCID) != "0506" {
		t.Errorf("got %v %v dcid %x scid %x", p.Type, got, p.DCID, p.SCID)
	}
	if want[2].String() != "grease 0x1a2a3a4a" {
		t.Errorf("String() = %q", want[2].String())
	}
	if !Looks(b) {
		t.Error("Looks says no to a Version Negotiation packet")
	}
	if _, _, err := NextPacket(b[:len(b)-1], -1); !errors.Is(err, ErrMalformed) {
		t.Errorf("a list of 11 bytes: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		hex  string
		dcid int
		want error
	}{
		{"unknown version", "c0ff0000160000", -1, ErrUnknownVersion}, // draft-22: not read
		{"dcid over 20", "c00000000115" + "000000000000000000000000000000000000000000" + "00", -1, ErrMalformed},
		{"length past datagram", "c000000001000000" + "4400" + "00", -1, io.ErrUnexpectedEOF},
		{"token past datagram", "c000000001000005" + "0000", -1, io.ErrUnexpectedEOF},
		{"short header, dcid length unknown", "40000000", -1, ErrMalformed},
		{"short header, fixed bit clear", "00000000", 0, ErrMalformed},
		{"short header shorter than dcid", "4000", 8, io.ErrUnexpectedEOF},
		{"retry without tag", "f00000000100000102", -1, io.ErrUnexpectedEOF},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NextPacket(unhex(t, tt.hex), tt.dcid)
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if Reason(err) == "" || Reason(err) == "quic_error" {
				t.Errorf("Reason(%v) = %q", err, Reason(err))
			}
		})
	}
}

func TestLooks(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"v1 client initial", unhex(t, v1ClientPacket), true},
		{"v1 server initial", unhex(t, v1ServerPacket), true},
		{"v2 client initial", unhex(t, v2ClientPacket), true},
		{"v1 retry", unhex(t, v1Retry), true},
		{"v2 retry", unhex(t, v2Retry), true},
		{"truncated initial", unhex(t, v1ClientPacket)[:600], false},
		{"short header", unhex(t, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"), false},
		// A DNS query for example.com (RFC 1035, Section 4.1).
		{"dns query", unhex(t, "abcd01000001000000000000076578616d706c6503636f6d0000010001"), false},
		// A DTLS 1.2 ClientHello record header (RFC 6347, Section 4.1).
		{"dtls", unhex(t, "16fefd0000000000000000010000"), false},
		{"draft-29 initial", unhex(t, "c0ff00001d08"+"8394c8f03e515708"+"0000449e"), false},
		{"empty", nil, false},
	} {
		if got := Looks(tt.b); got != tt.want {
			t.Errorf("%s: Looks = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetry(t *testing.T) {
	for _, tt := range []struct {
		v   Version
		hex string
	}{{Version1, v1Retry}, {Version2, v2Retry}} {
		t.Run(tt.v.String(), func(t *testing.T) {
			b := unhex(t, tt.hex)
			p, _, err := NextPacket(b, -1)
			if err != nil {
				t.Fatal(err)
			}
			// RFC 9001, Appendix A.4: SCID f067a5502a4262b5, token "token".
			if p.Type != PacketRetry || string(p.Token) != "token" {
				t.Fatalf("type %v token %q", p.Type, p.Token)
			}
			scid, err := CheckRetry(rfcDCID, &p)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(scid) != "f067a5502a4262b5" {
				t.Errorf("scid %x", scid)
			}
			if _, err := CheckRetry(rfcDCID[:7], &p); !errors.Is(err, ErrRetryIntegrity) {
				t.Errorf("another ODCID: %v", err)
			}
			b[len(b)-1] ^= 0x80
			if _, err := CheckRetry(rfcDCID, &p); !errors.Is(err, ErrRetryIntegrity) {
				t.Errorf("a corrupted tag: %v", err)
			}
		})
	}
}

// TestPacketTypeBits parses a long header of each type bit pattern in
// both versions: RFC 9000, Section 17.2, Table 5 and RFC 9369, Section 3.2.
func TestPacketTypeBits(t *testing.T) {
	want := map[Version][4]PacketType{
		Version1: {PacketInitial, Packet0RTT, PacketHandshake, PacketRetry},
		Version2: {PacketRetry, PacketInitial, Packet0RTT, PacketHandshake},
	}
	for v, types := range want {
		for bits := range 4 {
			b := []byte{0xc0 | byte(bits)<<4, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), 0, 0}
			if types[bits] == PacketInitial {
				b = append(b, 0) // empty token
			}
			if types[bits] != PacketRetry {
				b = append(b, 21) // Length: pn and tag
			}
			b = append(b, make([]byte, 21)...)
			p, _, err := NextPacket(b, -1)
			if err != nil || p.Type != types[bits] {
				t.Errorf("%v bits %02b: %v %v, want %v", v, bits, p.Type, err, types[bits])
			}
			if !Looks(b) {
				t.Errorf("%v bits %02b: Looks says no", v, bits)
			}
		}
	}
}

// TestGreasedFixedBit: a long header whose Fixed Bit is clear (allowed by
// RFC 9287 once grease_quic_bit was announced) is parsed like any other.
func TestGreasedFixedBit(t *testing.T) {
	// The RFC 9001 Appendix A.4 Retry with the Fixed Bit cleared.
	b := unhex(t, v1Retry)
	b[0] &^= 0x40
	p, _, err := NextPacket(b, -1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != PacketRetry || p.Version != Version1 {
		t.Errorf("got %v %v, want a version 1 Retry", p.Type, p.Version)
	}
}
