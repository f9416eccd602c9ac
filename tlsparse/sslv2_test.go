package tlsparse

import (
	"bytes"
	"errors"
	"testing"
)

// testSSLv2Hello is an SSLv2-compatible ClientHello offering TLS 1.0, in
// the form OpenSSL 0.9.8's SSLv23_client_method sent (RFC 5246,
// Appendix E.2): a two-byte header with the high bit set, then msg_type,
// version, three lengths, cipher specs, no session ID, a 16-byte
// challenge.
var testSSLv2Hello = []byte{
	0x80, 0x2e, // length 46, no padding
	0x01,       // msg_type client_hello
	0x03, 0x01, // version TLS 1.0
	0x00, 0x15, // cipher_spec_length 21: seven specs
	0x00, 0x00, // session_id_length
	0x00, 0x10, // challenge_length
	0x00, 0x00, 0x39, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
	0x00, 0x00, 0x38, // TLS_DHE_DSS_WITH_AES_256_CBC_SHA
	0x00, 0x00, 0x35, // TLS_RSA_WITH_AES_256_CBC_SHA
	0x00, 0x00, 0x16, // TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
	0x00, 0x00, 0x13, // TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA
	0x00, 0x00, 0x0a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
	0x07, 0x00, 0xc0, // SSL_CK_DES_192_EDE3_CBC_WITH_MD5
	0x5a, 0x0c, 0x4c, 0x5e, 0x3f, 0x21, 0x97, 0x6a, // challenge
	0x11, 0x8b, 0x04, 0xd2, 0x6e, 0xc9, 0x73, 0x30,
}

// sslv2Hello builds an SSLv2 ClientHello message (without the two-byte
// header) from its parts.
func sslv2Hello(typ byte, version Version, specs, sid, challenge []byte) []byte {
	b := []byte{typ, byte(version >> 8), byte(version),
		byte(len(specs) >> 8), byte(len(specs)),
		byte(len(sid) >> 8), byte(len(sid)),
		byte(len(challenge) >> 8), byte(len(challenge))}
	b = append(b, specs...)
	b = append(b, sid...)
	return append(b, challenge...)
}

func TestParseSSLv2Hello(t *testing.T) {
	msg := testSSLv2Hello[2:]
	ch, err := ParseSSLv2Hello(msg)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != VersionTLS10 || ch.CipherSuites != 7 || len(ch.SessionID) != 0 ||
		!bytes.Equal(ch.Random, testSSLv2Hello[len(testSSLv2Hello)-16:]) || !ch.SSLv2 ||
		len(ch.Extensions) != 0 || len(ch.Notes) != 0 {
		t.Fatalf("got %+v", ch)
	}

	t.Run("prefixes", func(t *testing.T) {
		for i := 0; i < len(msg); i++ {
			if _, err := ParseSSLv2Hello(msg[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("prefix of %d bytes: %v, want ErrMalformed", i, err)
			}
		}
	})

	specs := []byte{0, 0, 0x35, 0, 0, 0x0a}
	sid := bytes.Repeat([]byte{0xaa}, 16)
	challenge := bytes.Repeat([]byte{0xcc}, 32)
	for _, tt := range []struct {
		name    string
		in      []byte
		err     bool
		sid     int
		version Version
		notes   []string
	}{
		{"session id and 32-byte challenge", sslv2Hello(1, VersionTLS12, specs, sid, challenge), false, 16, VersionTLS12, nil},
		{"ssl 2.0", sslv2Hello(1, VersionSSL20, specs, nil, challenge[:16]), false, 0, VersionSSL20, nil},
		{"trailing byte", append(sslv2Hello(1, VersionTLS10, specs, nil, challenge[:16]), 0), false, 0, VersionTLS10, []string{"trailing_bytes_client_hello"}},
		{"wrong msg_type", sslv2Hello(2, VersionTLS10, specs, nil, challenge[:16]), true, 0, 0, nil},
		{"specs not a multiple of 3", sslv2Hello(1, VersionTLS10, specs[:4], nil, challenge[:16]), true, 0, 0, nil},
		{"no specs", sslv2Hello(1, VersionTLS10, nil, nil, challenge[:16]), true, 0, 0, nil},
		{"session id of 33 bytes", sslv2Hello(1, VersionTLS10, specs, make([]byte, 33), challenge[:16]), true, 0, 0, nil},
		{"challenge of 15 bytes", sslv2Hello(1, VersionTLS10, specs, nil, challenge[:15]), true, 0, 0, nil},
		{"challenge of 33 bytes", sslv2Hello(1, VersionTLS10, specs, nil, append(challenge, 0)), true, 0, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseSSLv2Hello(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.SessionID) != tt.sid || ch.Version != tt.version || ch.CipherSuites != 2 || !equalStrings(ch.Notes, tt.notes) {
				t.Fatalf("got %+v", ch)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseSSLv2Hello(f *testing.F) {
	// OpenSSL 0.9.8-style SSLv2-compatible hello offering TLS 1.0.
	f.Add(testSSLv2Hello[2:])
	// A hello resuming a 16-byte SSLv2 session ID with a 32-byte challenge.
	f.Add(sslv2Hello(1, VersionTLS12, []byte{0, 0, 0x35, 0, 0, 0x0a}, bytes.Repeat([]byte{0xaa}, 16), bytes.Repeat([]byte{0xcc}, 32)))
	// Wrong msg_type (a ServerHello in SSLv2 form).
	f.Add(sslv2Hello(4, VersionSSL20, []byte{0, 0, 0x35}, nil, make([]byte, 16)))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := ParseSSLv2Hello(msg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(ch.SessionID) > 32 || len(ch.Random) < 16 || len(ch.Random) > 32 || ch.CipherSuites < 1 || !ch.SSLv2 {
			t.Fatalf("accepted %+v", ch)
		}
		if 9+3*ch.CipherSuites+len(ch.SessionID)+len(ch.Random) > len(msg) {
			t.Fatalf("fields longer than the %d-byte message", len(msg))
		}
	})
}
