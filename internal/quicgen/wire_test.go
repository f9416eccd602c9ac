package quicgen

import (
	"bytes"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/quic-go/quic-go"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The headers are the first bytes of the RFC test vectors.
var headerTests = []struct {
	name       string
	in         string
	ok         bool
	typ        PacketType
	version    quic.Version
	dcid, scid string
}{
	{"RFC 9001 A.2 client Initial", "c000000001088394c8f03e5157080000449e", true, Initial, quic.Version1, "8394c8f03e515708", ""},
	{"RFC 9001 A.3 server Initial", "c1000000010008f067a5502a4262b50040750001", true, Initial, quic.Version1, "", "f067a5502a4262b5"},
	{"RFC 9001 A.4 Retry", "ff000000010008f067a5502a4262b5746f6b656e", true, Retry, quic.Version1, "", "f067a5502a4262b5"},
	{"RFC 9369 A.2 client Initial", "d36b3343cf088394c8f03e5157080000449e", true, Initial, quic.Version2, "8394c8f03e515708", ""},
	{"RFC 9369 A.4 Retry", "cf6b3343cf0008f067a5502a4262b5746f6b656e", true, Retry, quic.Version2, "", "f067a5502a4262b5"},
	{"v1 Handshake", "e00000000100000000", true, Handshake, quic.Version1, "", ""},
	{"v2 0-RTT", "e36b3343cf010000", true, ZeroRTT, quic.Version2, "00", ""},
	{"version negotiation", "8000000000010000", true, VersionNegotiation, 0, "00", ""},
	{"RFC 9001 A.5 short header", "4cfe4189655e5cd55c41f69080575d7999c25a5bfb", false, 0, 0, "", ""},
	{"unknown version", "c0ff00001d088394c8f03e5157080000", false, 0, 0, "", ""},
	{"DCID cut short", "c000000001088394c8", false, 0, 0, "", ""},
	{"no SCID length", "c000000001088394c8f03e515708", false, 0, 0, "", ""},
	{"empty", "", false, 0, 0, "", ""},
}

func TestParseLongHeader(t *testing.T) {
	for _, tt := range headerTests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := ParseLongHeader(unhex(t, tt.in))
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if h.Type != tt.typ || h.Version != tt.version || hex.EncodeToString(h.DCID) != tt.dcid || hex.EncodeToString(h.SCID) != tt.scid {
				t.Errorf("got %v %v dcid %x scid %x, want %v %v %s %s", h.Type, h.Version, h.DCID, h.SCID, tt.typ, tt.version, tt.dcid, tt.scid)
			}
		})
	}
}

func FuzzParseLongHeader(f *testing.F) {
	for _, tt := range headerTests {
		f.Add(unhex(f, tt.in)) // the RFC 9001 / 9369 headers and their broken forms above
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := ParseLongHeader(b)
		if !ok {
			return
		}
		// The IDs are sub-slices of the input, right after their length bytes.
		if len(b) < 7+len(h.DCID)+len(h.SCID) || !bytes.Equal(b[6:6+len(h.DCID)], h.DCID) {
			t.Fatalf("dcid %x not at its place in %x", h.DCID, b)
		}
		if h.Type.String() == "unknown" {
			t.Fatalf("type %d", h.Type)
		}
	})
}

func TestDamageOrder(t *testing.T) {
	c, s := ClientSide, ServerSide
	// Client sent datagrams 0, 2, 3; the server 1, 4.
	sides := [2][]int{{0, 2, 3}, {1, 4}}
	tests := []struct {
		name string
		d    Damage
		want []int
		err  bool
	}{
		{"none", Damage{}, []int{0, 1, 2, 3, 4}, false},
		{"drop first client", Damage{Drop: []Pick{{c, 0}}}, []int{1, 2, 3, 4}, false},
		{"duplicate first client", Damage{Duplicate: []Pick{{c, 0}}}, []int{0, 0, 1, 2, 3, 4}, false},
		{"swap servers", Damage{Swap: [][2]Pick{{{s, 0}, {s, 1}}}}, []int{0, 4, 2, 3, 1}, false},
		{"swap then drop", Damage{Swap: [][2]Pick{{{c, 1}, {s, 1}}}, Drop: []Pick{{c, 1}}}, []int{0, 1, 4, 3}, false},
		{"no such datagram", Damage{Drop: []Pick{{s, 2}}}, nil, true},
		{"negative", Damage{Duplicate: []Pick{{c, -1}}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := damage(sides, &tt.d)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
		})
	}
}
