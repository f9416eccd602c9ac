package dtls

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

func TestNextRecord(t *testing.T) {
	hs := rec(tlsparse.RecordHandshake, 0, 5, []byte("abc"))
	ccs := rec(tlsparse.RecordChangeCipherSpec, 0, 6, []byte{1})
	for _, tt := range []struct {
		name   string
		in     []byte
		cidLen int
		want   Record
		rest   int
		err    error
	}{
		{"plaintext", hs, 0, Record{Type: tlsparse.RecordHandshake, Version: 0xfefd, Seq: 5, Fragment: []byte("abc")}, 0, nil},
		{"two records in a datagram", cat(hs, ccs), 0, Record{Type: tlsparse.RecordHandshake, Version: 0xfefd, Seq: 5, Fragment: []byte("abc")}, len(ccs), nil},
		{"epoch and 48-bit sequence", rec(tlsparse.RecordApplicationData, 1, 0xa0b0c0d0e0f0, []byte("x")), 0,
			Record{Type: tlsparse.RecordApplicationData, Version: 0xfefd, Epoch: 1, Seq: 0xa0b0c0d0e0f0, Fragment: []byte("x")}, 0, nil},
		{"OpenSSL pre-standard version", []byte{22, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9}, 0,
			Record{Type: tlsparse.RecordHandshake, Version: 0x0100, Fragment: []byte{9}}, 0, nil},
		// RFC 9147, Section 4: 0b001CSLEE.
		{"unified, 16-bit seq, length", []byte{0x2e, 0x12, 0x34, 0, 2, 'h', 'i', 0x2c, 1}, 0,
			Record{Unified: true, Epoch: 2, Seq: 0x1234, Fragment: []byte("hi")}, 2, nil},
		{"unified, 8-bit seq, no length", []byte{0x23, 0x07, 'a', 'b', 'c'}, 0,
			Record{Unified: true, Epoch: 3, Seq: 7, Fragment: []byte("abc")}, 0, nil},
		{"unified with CID of unknown length", []byte{0x3e, 1, 2, 3, 4, 5}, 0,
			Record{Unified: true, Epoch: 2, CID: true, Fragment: []byte{1, 2, 3, 4, 5}}, 0, nil},
		{"unified with 2-byte CID", []byte{0x3e, 0xc1, 0xc2, 0x00, 0x09, 0, 1, 'z'}, 2,
			Record{Unified: true, Epoch: 2, CID: true, Seq: 9, Fragment: []byte("z")}, 0, nil},
		// RFC 9146, Section 4: tls12_cid with a 1-byte CID.
		{"tls12_cid, CID length known", []byte{25, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 3, 0xcc, 0, 2, 'o', 'k'}, 1,
			Record{Type: RecordTLS12CID, Version: 0xfefd, Epoch: 1, Seq: 3, CID: true, Fragment: []byte("ok")}, 0, nil},
		{"empty", nil, 0, Record{}, 0, io.ErrUnexpectedEOF},
		{"header cut short", hs[:12], 0, Record{}, 0, tlsparse.ErrMalformed},
		{"longer than datagram", hs[:len(hs)-1], 0, Record{}, 0, tlsparse.ErrMalformed},
		{"TLS, not DTLS", []byte{22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, Record{}, 0, tlsparse.ErrMalformed},
		{"unknown content type", []byte{19, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, Record{}, 0, tlsparse.ErrMalformed},
		{"oversized", []byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 0, Record{}, 0, tlsparse.ErrTooLarge},
		{"unified cut short", []byte{0x2c, 1}, 0, Record{}, 0, tlsparse.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, rest, err := NextRecord(tt.in, tt.cidLen)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if r.Type != tt.want.Type || r.Version != tt.want.Version || r.Epoch != tt.want.Epoch || r.Seq != tt.want.Seq ||
				r.Unified != tt.want.Unified || r.CID != tt.want.CID || !bytes.Equal(r.Fragment, tt.want.Fragment) || len(rest) != tt.rest {
				t.Errorf("got %+v rest %d, want %+v rest %d", r, len(rest), tt.want, tt.rest)
			}
		})
	}
}

// firstClientPayload returns the first UDP payload of a capture.
func firstClientPayload(t *testing.T, path string) []byte {
	t.Helper()
	var first []byte
	forEachPayload(t, path, func(p []byte) bool {
		first = bytes.Clone(p)
		return false
	})
	return first
}

func TestLooks(t *testing.T) {
	opensslFirst := firstClientPayload(t, filepath.Join(opensslDir, "dtls12-ticket.pcap"))
	hvr := rec(tlsparse.RecordHandshake, 0, 0, frag(tlsparse.TypeHelloVerifyRequest, 3, 0, 0, []byte{0xfe, 0xff, 0}))
	for _, tt := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"OpenSSL's first ClientHello (dtls12-ticket.pcap)", opensslFirst, true},
		{"HelloVerifyRequest", hvr, true},
		{"ServerHello", rec(tlsparse.RecordHandshake, 0, 1, frag(sh, 2, 1, 0, []byte{0xfe, 0xfd})), true},
		{"Certificate is not a first datagram", rec(tlsparse.RecordHandshake, 0, 1, frag(cert, 2, 1, 0, []byte{1, 2})), false},
		{"epoch 1", rec(tlsparse.RecordHandshake, 1, 0, frag(ch, 2, 0, 0, []byte{1, 2})), false},
		{"record longer than datagram", hvr[:len(hvr)-1], false},
		{"fragment past its message", rec(tlsparse.RecordHandshake, 0, 0, frag(ch, 2, 0, 1, []byte{1, 2})), false},
		{"TLS record", []byte{22, 3, 1, 0, 20, 1, 0, 0, 16, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		// RFC 5389: STUN binding request, magic cookie 0x2112a442.
		{"STUN", []byte{0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0x24, 0, 4, 0, 0, 0, 1}, false},
		// RFC 1035: a DNS query header.
		{"DNS", []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}, false},
		// RFC 9000, Section 17.2: a QUIC long header (Initial, version 1).
		{"QUIC Initial", append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 40)...), false},
		{"empty", nil, false},
		{"short", opensslFirst[:24], false},
	} {
		if got := Looks(tt.in); got != tt.want {
			t.Errorf("%s: Looks = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLooksAllocs(t *testing.T) {
	dns := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
	if n := testing.AllocsPerRun(100, func() { Looks(dns) }); n != 0 {
		t.Errorf("Looks allocates %v times", n)
	}
}

func BenchmarkLooks(b *testing.B) {
	for _, bb := range []struct {
		name string
		in   []byte
	}{
		{"dns", []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}},
		{"quic", append([]byte{0xc3, 0, 0, 0, 1, 8}, make([]byte, 1200)...)},
		{"dtls", rec(tlsparse.RecordHandshake, 0, 0, frag(ch, 100, 0, 0, make([]byte, 100)))},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				Looks(bb.in)
			}
		})
	}
}
