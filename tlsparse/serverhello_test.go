package tlsparse

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// buildServerHello builds a ServerHello body; with exts nil the
// extensions block is absent.
func buildServerHello(random []byte, sid []byte, suite CipherSuite, exts []ext) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(VersionTLS12))
	b.AddBytes(random)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
	b.AddUint16(uint16(suite))
	b.AddUint8(0)
	if exts != nil {
		addExtensions(&b, exts)
	}
	return b.BytesOrPanic()
}

// testRandom is an ordinary ServerHello random.
var testRandom = bytes.Repeat([]byte{0x22}, 32)

// TestParseServerHelloGo checks the ServerHellos crypto/tls wrote against
// the client's ConnectionState.
func TestParseServerHelloGo(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, tt := range []struct {
		c     *goConn
		index int
		hrr   bool
	}{
		{h.tls12Full, 0, false},
		{h.tls12Resumed, 0, false},
		{h.tls13Full, 0, false},
		{h.tls13Resumed, 0, false},
		{h.tls13HRR, 0, true},
		{h.tls13HRR, 1, false},
	} {
		name := tt.c.name
		if tt.hrr {
			name += "/retry"
		}
		t.Run(name, func(t *testing.T) {
			cs := tt.c.cstate
			bodies := goMessagesOfType(t, tt.c, true, TypeServerHello)
			if cs.HelloRetryRequest != (len(bodies) == 2) {
				t.Fatalf("%d ServerHellos, HelloRetryRequest %v", len(bodies), cs.HelloRetryRequest)
			}
			sh, err := ParseServerHello(bodies[tt.index])
			if err != nil {
				t.Fatal(err)
			}
			if sh.HelloRetryRequest != tt.hrr {
				t.Errorf("HelloRetryRequest %v, want %v", sh.HelloRetryRequest, tt.hrr)
			}
			if sh.Negotiated() != Version(cs.Version) || sh.Version != VersionTLS12 {
				t.Errorf("negotiated %v (legacy %v), want %v", sh.Negotiated(), sh.Version, Version(cs.Version))
			}
			if sh.CipherSuite != CipherSuite(cs.CipherSuite) {
				t.Errorf("cipher %v, want %v", sh.CipherSuite, CipherSuite(cs.CipherSuite))
			}
			tls13 := cs.Version == tls.VersionTLS13
			if want := tls13 && cs.DidResume; sh.HasPSK != want || sh.SelectedIdentity != 0 {
				t.Errorf("HasPSK %v, selected %d; want %v, 0", sh.HasPSK, sh.SelectedIdentity, want)
			}
			// TLS 1.3 moves ALPN into EncryptedExtensions.
			if want := map[bool]string{false: cs.NegotiatedProtocol, true: ""}[tls13]; sh.ALPN != want {
				t.Errorf("ALPN %q, want %q", sh.ALPN, want)
			}
			// The server announces a NewSessionTicket in TLS 1.2 only
			// (RFC 5077, Section 3.2).
			if sh.SessionTicketExt != !tls13 {
				t.Errorf("SessionTicketExt %v", sh.SessionTicketExt)
			}
			// TLS 1.3 echoes the session ID (compatibility mode); a TLS 1.2
			// server echoes it to accept a ticket (RFC 5077, Section 3.4)
			// and crypto/tls assigns none on a full handshake.
			ch := goMessagesOfType(t, tt.c, false, TypeClientHello)[tt.index]
			chSID := ch[35 : 35+int(ch[34])]
			if echo := bytes.Equal(sh.SessionID, chSID); echo != (tls13 || cs.DidResume) {
				t.Errorf("session id echoed: %v", echo)
			}
			if len(sh.Notes) != 0 {
				t.Errorf("notes %q", sh.Notes)
			}
		})
	}
}

// TestParseServerHelloPrefixes: as for the ClientHello, only the prefix
// that stops before the extensions block parses (a TLS 1.2 server without
// extensions).
func TestParseServerHelloPrefixes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range h.all() {
		for _, body := range goMessagesOfType(t, c, true, TypeServerHello) {
			fixed := 2 + 32 + 1 + int(body[34]) + 2 + 1
			for i := 0; i < len(body); i++ {
				sh, err := ParseServerHello(body[:i])
				if i == fixed {
					if err != nil || len(sh.Extensions) != 0 || sh.Negotiated() != VersionTLS12 {
						t.Fatalf("%s: hello without extensions: %v", c.name, err)
					}
					continue
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: prefix of %d of %d bytes: error %v, want ErrMalformed", c.name, i, len(body), err)
				}
			}
		}
	}
}

func TestParseServerHello(t *testing.T) {
	hrrRandom := bytes.Clone(helloRetryRequestRandom)
	almostHRR := bytes.Clone(helloRetryRequestRandom)
	almostHRR[31] ^= 1
	sv13 := []byte{0x03, 0x04}
	for _, tt := range []struct {
		name   string
		body   []byte
		notes  []string
		check  func(*ServerHello) bool
		errors bool
	}{
		{"tls 1.2 without extensions", buildServerHello(testRandom, make([]byte, 32), 0xc02f, nil), nil,
			func(sh *ServerHello) bool { return sh.Negotiated() == VersionTLS12 && sh.CipherSuite == 0xc02f }, false},
		{"tls 1.3 resumed", buildServerHello(testRandom, nil, 0x1301, []ext{{ExtSupportedVersions, sv13}, {ExtPreSharedKey, []byte{0, 2}}}), nil,
			func(sh *ServerHello) bool {
				return sh.Negotiated() == VersionTLS13 && sh.HasPSK && sh.SelectedIdentity == 2
			}, false},
		{"hello retry request", buildServerHello(hrrRandom, nil, 0x1301, []ext{{ExtSupportedVersions, sv13}, {ExtKeyShare, []byte{0, 23}}}), nil,
			func(sh *ServerHello) bool { return sh.HelloRetryRequest && sh.Negotiated() == VersionTLS13 }, false},
		{"one bit off the retry random", buildServerHello(almostHRR, nil, 0x1301, []ext{{ExtSupportedVersions, sv13}}), nil,
			func(sh *ServerHello) bool { return !sh.HelloRetryRequest }, false},
		{"tls 1.2 alpn and ticket", buildServerHello(testRandom, nil, 0xc02f, []ext{{ExtALPN, []byte{0, 3, 2, 'h', '2'}}, {ExtSessionTicket, nil}}), nil,
			func(sh *ServerHello) bool { return sh.ALPN == "h2" && sh.SessionTicketExt }, false},
		{"draft version", buildServerHello(testRandom, nil, 0x1301, []ext{{ExtSupportedVersions, []byte{0x7f, 0x17}}}), nil,
			func(sh *ServerHello) bool { return sh.Negotiated() == 0x7f17 && sh.Negotiated().IsTLS13() }, false},
		{"alpn with two protocols", buildServerHello(testRandom, nil, 0xc02f, []ext{{ExtALPN, extALPN}}), []string{"malformed_extension_16"},
			func(sh *ServerHello) bool { return sh.ALPN == "" }, false},
		{"supported_versions with a list", buildServerHello(testRandom, nil, 0x1301, []ext{{ExtSupportedVersions, extVers}}), []string{"malformed_extension_43"},
			func(sh *ServerHello) bool { return sh.Negotiated() == VersionTLS12 }, false},
		{"pre_shared_key of three bytes", buildServerHello(testRandom, nil, 0x1301, []ext{{ExtPreSharedKey, []byte{0, 0, 0}}}), []string{"malformed_extension_41"},
			func(sh *ServerHello) bool { return !sh.HasPSK }, false},
		{"duplicate supported_versions", buildServerHello(testRandom, nil, 0x1301, []ext{{ExtSupportedVersions, sv13}, {ExtSupportedVersions, sv13}}),
			[]string{"duplicate_extension_43"}, nil, false},
		{"trailing bytes", append(buildServerHello(testRandom, nil, 0x1301, []ext{}), 0), []string{"trailing_bytes_server_hello"}, nil, false},
		{"33-byte session id", buildServerHello(testRandom, make([]byte, 33), 0x1301, nil), nil, nil, true},
		{"extension over the block", append(buildServerHello(testRandom, nil, 0x1301, nil), 0, 4, 0, 43, 0, 2, 3), nil, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := ParseServerHello(tt.body)
			if tt.errors {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %+v, %v; want ErrMalformed", sh, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(sh.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", sh.Notes, tt.notes)
			}
			if tt.check != nil && !tt.check(sh) {
				t.Errorf("fields: %+v", sh)
			}
		})
	}
}

func FuzzParseServerHello(f *testing.F) {
	h := recordGoHandshakes(f)
	// Go TLS 1.2 server, full handshake: ALPN, session_ticket.
	f.Add(goMessagesOfType(f, h.tls12Full, true, TypeServerHello)[0])
	// Go TLS 1.2 server accepting a ticket: session ID echoed.
	f.Add(goMessagesOfType(f, h.tls12Resumed, true, TypeServerHello)[0])
	// Go TLS 1.3 server, full handshake: supported_versions, key_share.
	f.Add(goMessagesOfType(f, h.tls13Full, true, TypeServerHello)[0])
	// Go TLS 1.3 server accepting a PSK: pre_shared_key selected_identity.
	f.Add(goMessagesOfType(f, h.tls13Resumed, true, TypeServerHello)[0])
	// Go's HelloRetryRequest asking for P-256.
	f.Add(goMessagesOfType(f, h.tls13HRR, true, TypeServerHello)[0])
	// A TLS 1.2 server without extensions.
	f.Add(buildServerHello(testRandom, make([]byte, 32), 0x002f, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		sh, err := ParseServerHello(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(sh.SessionID) > 32 || len(sh.Random) != 32 {
			t.Fatalf("accepted session id of %d bytes, random of %d", len(sh.SessionID), len(sh.Random))
		}
		if sh.HelloRetryRequest != bytes.Equal(sh.Random, helloRetryRequestRandom) {
			t.Fatal("HelloRetryRequest does not match the random")
		}
		if sh.SupportedVersion != 0 && sh.Negotiated() != sh.SupportedVersion || sh.SupportedVersion == 0 && sh.Negotiated() != sh.Version {
			t.Fatalf("Negotiated %v with legacy %v, supported_versions %v", sh.Negotiated(), sh.Version, sh.SupportedVersion)
		}
		n := 0
		for _, e := range sh.Extensions {
			n += 4 + len(e.Data)
		}
		fixed := 38 // version, random, session ID length, suite, compression
		if sh.Version == VersionTLS13 || preCompatDraft(sh.Version) {
			fixed = 36 // drafts before 22: no session ID, no compression
		}
		if n+len(sh.SessionID)+fixed > len(body) {
			t.Fatalf("fields longer than the %d-byte body", len(body))
		}
	})
}

func BenchmarkParseServerHello(b *testing.B) {
	h := recordGoHandshakes(b)
	for _, c := range []*goConn{h.tls12Resumed, h.tls13Resumed} {
		body := goMessagesOfType(b, c, true, TypeServerHello)[0]
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseServerHello(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
