package dtls

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// dtlsHello builds a ClientHello body (RFC 6347, Section 4.2.1) and the
// same hello in TLS layout (RFC 5246, Section 7.4.1.2).
func dtlsHello(sid, cookie []byte, withTicket bool) (dtlsBody, tlsBody []byte) {
	head := cat([]byte{0xfe, 0xfd}, pattern(32), []byte{byte(len(sid))}, sid)
	tail := []byte{0, 2, 0xc0, 0x2b, 1, 0} // one suite, null compression
	if withTicket {
		tail = append(tail, 0, 8, 0, 35, 0, 4, 't', 'k', 't', '!') // session_ticket "tkt!"
	}
	dtlsBody = cat(head, []byte{byte(len(cookie))}, cookie, tail)
	tlsBody = cat(head, tail)
	return dtlsBody, tlsBody
}

func TestClientHelloTLS(t *testing.T) {
	for _, tt := range []struct {
		name        string
		sid, cookie []byte
		ticket      bool
	}{
		{"first hello, nothing", nil, nil, false},
		{"with cookie", nil, pattern(20), false},
		{"session ID and cookie", pattern(32), pattern(32), false},
		{"ticket and a 255-byte cookie", nil, pattern(255), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, want := dtlsHello(tt.sid, tt.cookie, tt.ticket)
			got, cookie, err := ClientHelloTLS(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || !bytes.Equal(cookie, tt.cookie) || (len(tt.cookie) == 0) != (cookie == nil) {
				t.Fatalf("tls body %x cookie %x; want %x cookie %x", got, cookie, want, tt.cookie)
			}
			h, err := tlsparse.ParseClientHello(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h.SessionID, tt.sid) || h.Version != tlsparse.VersionDTLS12 || (string(h.SessionTicket) == "tkt!") != tt.ticket {
				t.Errorf("parsed %+v", h)
			}
			// Cut anywhere before the end of the cookie: malformed.
			for n := range 2 + 32 + 1 + len(tt.sid) + 1 + len(tt.cookie) {
				if _, _, err := ClientHelloTLS(d[:n]); !errors.Is(err, tlsparse.ErrMalformed) {
					t.Fatalf("prefix of %d bytes: err %v", n, err)
				}
			}
		})
	}
}

func TestParseHelloVerifyRequest(t *testing.T) {
	body := cat([]byte{0xfe, 0xff, 20}, pattern(20))
	hvr, err := ParseHelloVerifyRequest(body)
	if err != nil || hvr.Version != tlsparse.VersionDTLS10 || !bytes.Equal(hvr.Cookie, pattern(20)) {
		t.Fatalf("%+v %v", hvr, err)
	}
	// RFC 6347 allows an empty cookie.
	if hvr, err := ParseHelloVerifyRequest([]byte{0xfe, 0xfd, 0}); err != nil || len(hvr.Cookie) != 0 {
		t.Errorf("empty cookie: %+v %v", hvr, err)
	}
	for n := range len(body) {
		if _, err := ParseHelloVerifyRequest(body[:n]); !errors.Is(err, tlsparse.ErrMalformed) {
			t.Errorf("prefix of %d bytes: err %v", n, err)
		}
	}
	if _, err := ParseHelloVerifyRequest(append(body, 0)); !errors.Is(err, tlsparse.ErrMalformed) {
		t.Errorf("trailing byte: err %v", err)
	}
}
