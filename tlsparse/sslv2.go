package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// ParseSSLv2Hello parses an SSLv2-compatible ClientHello message (the
// fragment of a Record with SSLv2 set, starting at msg_type), RFC 5246,
// Appendix E.2 and RFC 6101, Appendix E. It has no extensions, so it can
// offer nothing but a session ID.
func ParseSSLv2Hello(msg []byte) (*ClientHello, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	var v, specLen, sidLen, chalLen uint16
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint16(&v) ||
		!s.ReadUint16(&specLen) || !s.ReadUint16(&sidLen) || !s.ReadUint16(&chalLen) {
		return nil, fmt.Errorf("tlsparse: sslv2 client hello: %w", ErrMalformed)
	}
	var specs, sid, chal []byte
	if specLen%3 != 0 || specLen == 0 || !s.ReadBytes(&specs, int(specLen)) ||
		!s.ReadBytes(&sid, int(sidLen)) || !s.ReadBytes(&chal, int(chalLen)) {
		return nil, fmt.Errorf("tlsparse: sslv2 client hello lengths: %w", ErrMalformed)
	}
	if sidLen > 32 || chalLen < 16 || chalLen > 32 {
		return nil, fmt.Errorf("tlsparse: sslv2 client hello session id %d, challenge %d bytes: %w", sidLen, chalLen, ErrMalformed)
	}
	ch := &ClientHello{Version: Version(v), Random: chal, SessionID: sid, CipherSuites: int(specLen) / 3, SSLv2: true}
	// RFC 5246, Appendix E.2: a V2CipherSpec whose first byte is zero is a
	// TLS cipher suite in its last two bytes.
	for sp := cryptobyte.String(specs); !sp.Empty(); {
		var kind uint8
		var cs uint16
		sp.ReadUint8(&kind)
		sp.ReadUint16(&cs) // cannot fail: specLen is a multiple of 3
		if kind == 0 {
			ch.Suites = append(ch.Suites, CipherSuite(cs))
		}
	}
	if !s.Empty() {
		ch.Notes = append(ch.Notes, "trailing_bytes_client_hello")
	}
	return ch, nil
}
