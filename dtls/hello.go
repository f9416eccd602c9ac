package dtls

import (
	"github.com/tlsresume/tlsresume/tlsparse"
	"golang.org/x/crypto/cryptobyte"
)

// ClientHelloTLS takes a DTLS ClientHello body (without the 12-byte
// handshake header) and returns it in TLS layout, the cookie removed, so
// that tlsparse.ParseClientHello reads it unchanged, and the cookie (nil
// when empty). A DTLS ClientHello is a TLS one with
// cookie<0..2^8-1> after the session ID (RFC 6347, Section 4.2.1; in
// DTLS 1.3 legacy_cookie, RFC 9147, Section 5.3). tlsBody is a new slice;
// cookie aliases body. The rest of the hello is not checked here: that is
// ParseClientHello's job.
func ClientHelloTLS(body []byte) (tlsBody, cookie []byte, err error) {
	s := cryptobyte.String(body)
	var sid, ck cryptobyte.String
	// RFC 6347, Section 4.2.1: client_version, random, session_id, cookie.
	if !s.Skip(2+32) || !s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint8LengthPrefixed(&ck) {
		return nil, nil, malformed("client hello")
	}
	head := 2 + 32 + 1 + len(sid)
	tlsBody = make([]byte, 0, len(body)-1-len(ck))
	tlsBody = append(tlsBody, body[:head]...)
	tlsBody = append(tlsBody, s...)
	if len(ck) > 0 {
		cookie = ck
	}
	return tlsBody, cookie, nil
}

// HelloVerifyRequest is the server's cookie challenge (RFC 6347,
// Section 4.2.1). Cookie aliases the parsed body.
type HelloVerifyRequest struct {
	Version tlsparse.Version // server_version
	Cookie  []byte
}

// ParseHelloVerifyRequest parses a HelloVerifyRequest body (without the
// handshake header): server_version, cookie<0..2^8-1> (RFC 6347,
// Section 4.2.1). Trailing bytes are malformed.
func ParseHelloVerifyRequest(body []byte) (HelloVerifyRequest, error) {
	s := cryptobyte.String(body)
	var v uint16
	var ck cryptobyte.String
	if !s.ReadUint16(&v) || !s.ReadUint8LengthPrefixed(&ck) || !s.Empty() {
		return HelloVerifyRequest{}, malformed("hello verify request")
	}
	return HelloVerifyRequest{Version: tlsparse.Version(v), Cookie: ck}, nil
}
