package tlsparse

import (
	"bytes"
	"crypto/tls"
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// ext is one extension for the synthetic hellos below.
type ext struct {
	typ  ExtensionType
	data []byte
}

// buildClientHello builds a ClientHello body. With exts nil the
// extensions block is absent altogether (a pre-extension client).
func buildClientHello(sid []byte, exts []ext) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(VersionTLS12))
	b.AddBytes(bytes.Repeat([]byte{0x11}, 32))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(tls.TLS_AES_128_GCM_SHA256))
		b.AddUint16(uint16(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	if exts != nil {
		addExtensions(&b, exts)
	}
	return b.BytesOrPanic()
}

func addExtensions(b *cryptobyte.Builder, exts []ext) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(uint16(e.typ))
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
		}
	})
}

// Extension contents, well-formed.
var (
	extSNI = func() []byte { // RFC 6066, Section 3: host_name "example.com"
		var b cryptobyte.Builder
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("example.com")) })
		})
		return b.BytesOrPanic()
	}()
	extALPN = []byte{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}
	extVers = []byte{4, 0x03, 0x04, 0x03, 0x03}
	extPSK  = []byte{ // one 4-byte identity, age 0x01020304, one 32-byte binder
		0, 10, 0, 4, 'a', 'b', 'c', 'd', 1, 2, 3, 4,
		0, 33, 32, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	}
	extModes = []byte{1, 1} // psk_dhe_ke
)

// TestParseClientHelloGo checks the ClientHellos crypto/tls wrote against
// what the test configured and what crypto/tls reports.
func TestParseClientHelloGo(t *testing.T) {
	h := recordGoHandshakes(t)
	tls12Only := []Version{VersionTLS12}
	tls13And12 := []Version{VersionTLS13, VersionTLS12}
	for _, tt := range []struct {
		c        *goConn
		index    int // which ClientHello of the connection
		versions []Version
		ticket   []byte // want SessionTicket (nil: an empty extension)
		psk      [][]byte
	}{
		// TLS 1.2, first connection: "I support tickets", an empty extension.
		{h.tls12Full, 0, tls12Only, nil, nil},
		// TLS 1.2, resumed: the ticket the client cached from the first.
		{h.tls12Resumed, 0, tls12Only, h.tls12Full.issued[len(h.tls12Full.issued)-1], nil},
		{h.tls13Full, 0, tls13And12, nil, nil},
		// TLS 1.3, resumed: the PSK identity is the ticket from the first.
		{h.tls13Resumed, 0, tls13And12, nil, [][]byte{h.tls13Full.issued[len(h.tls13Full.issued)-1]}},
		{h.tls13HRR, 0, tls13And12, nil, nil},
		{h.tls13HRR, 1, tls13And12, nil, nil}, // after HelloRetryRequest
	} {
		t.Run(tt.c.name, func(t *testing.T) {
			bodies := goMessagesOfType(t, tt.c, false, TypeClientHello)
			if tt.c.cstate.HelloRetryRequest != (len(bodies) == 2) {
				t.Fatalf("%d ClientHellos, HelloRetryRequest %v", len(bodies), tt.c.cstate.HelloRetryRequest)
			}
			ch, err := ParseClientHello(bodies[tt.index])
			if err != nil {
				t.Fatal(err)
			}
			if ch.ServerName != testServerName {
				t.Errorf("ServerName %q, want %q", ch.ServerName, testServerName)
			}
			if !slices.Equal(ch.ALPN, testClientALPN) {
				t.Errorf("ALPN %q, want %q", ch.ALPN, testClientALPN)
			}
			if !slices.Equal(ch.SupportedVersions, tt.versions) {
				t.Errorf("SupportedVersions %v, want %v", ch.SupportedVersions, tt.versions)
			}
			if ch.OffersTLS13() != slices.Contains(tt.versions, VersionTLS13) {
				t.Errorf("OffersTLS13 %v", ch.OffersTLS13())
			}
			// Go's client always sends a 32-byte session ID outside QUIC
			// (crypto/tls handshake_client.go, makeClientHello).
			if len(ch.SessionID) != 32 || len(ch.Random) != 32 || ch.Version != VersionTLS12 {
				t.Errorf("legacy_version %v, session id %d bytes, random %d bytes", ch.Version, len(ch.SessionID), len(ch.Random))
			}
			if tt.c.tls12() {
				if !ch.SessionTicketExt || !bytes.Equal(ch.SessionTicket, tt.ticket) {
					t.Errorf("session_ticket present %v, %d bytes; want present, %d bytes",
						ch.SessionTicketExt, len(ch.SessionTicket), len(tt.ticket))
				}
			}
			if len(ch.PSKIdentities) != len(tt.psk) {
				t.Fatalf("%d PSK identities, want %d", len(ch.PSKIdentities), len(tt.psk))
			}
			for i := range tt.psk {
				if !bytes.Equal(ch.PSKIdentities[i], tt.psk[i]) {
					t.Errorf("PSK identity %d differs from the cached ticket", i)
				}
			}
			if tt.psk != nil {
				if ch.Extensions[len(ch.Extensions)-1].Type != ExtPreSharedKey || !slices.Equal(ch.PSKModes, []uint8{1}) {
					t.Errorf("pre_shared_key not last, or modes %v", ch.PSKModes)
				}
			}
			if ch.SSLv2 || len(ch.Notes) != 0 || ch.EarlyData {
				t.Errorf("SSLv2 %v, early data %v, notes %q", ch.SSLv2, ch.EarlyData, ch.Notes)
			}
			// Cipher suites: Go's list depends on its defaults; at least the
			// one the connection negotiated.
			if ch.CipherSuites < 1 {
				t.Errorf("%d cipher suites", ch.CipherSuites)
			}
		})
	}
}

// fixedLen is the length of a ClientHello body up to the extensions.
func fixedLen(body []byte) int {
	n := 2 + 32
	n += 1 + int(body[n])
	n += 2 + (int(body[n])<<8 | int(body[n+1]))
	n += 1 + int(body[n])
	return n
}

// TestParseClientHelloPrefixes checks that no proper prefix of a real
// ClientHello parses, with the one exception the RFC forces: the prefix
// that stops right before the extensions block is a valid hello from a
// client without extensions (RFC 5246, Section 7.4.1.2). The handshake
// header's length (the Assembler) is what rules that prefix out.
func TestParseClientHelloPrefixes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range h.all() {
		for _, body := range goMessagesOfType(t, c, false, TypeClientHello) {
			fixed := fixedLen(body)
			for i := 0; i < len(body); i++ {
				ch, err := ParseClientHello(body[:i])
				if i == fixed {
					if err != nil || len(ch.Extensions) != 0 {
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

// TestParseClientHelloNotes checks the lenient cases: they parse, and say
// what was odd in Notes.
func TestParseClientHelloNotes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		exts  []ext
		notes []string
		check func(*ClientHello) bool
	}{
		{"no extensions block", nil, nil, func(ch *ClientHello) bool { return len(ch.Extensions) == 0 }},
		{"empty extensions block", []ext{}, nil, func(ch *ClientHello) bool { return len(ch.Extensions) == 0 }},
		{"well-formed", []ext{{ExtServerName, extSNI}, {ExtALPN, extALPN}, {ExtSupportedVersions, extVers},
			{ExtSessionTicket, []byte{1, 2, 3}}, {ExtEarlyData, nil}, {ExtPSKKeyExchangeModes, extModes}, {ExtPreSharedKey, extPSK}},
			nil, func(ch *ClientHello) bool {
				return ch.ServerName == "example.com" && len(ch.ALPN) == 2 && len(ch.SupportedVersions) == 2 &&
					bytes.Equal(ch.SessionTicket, []byte{1, 2, 3}) && ch.EarlyData && len(ch.PSKModes) == 1 &&
					len(ch.PSKIdentities) == 1 && string(ch.PSKIdentities[0]) == "abcd"
			}},
		{"unknown extension kept in wire order", []ext{{0xfe0d, []byte{9}}, {ExtServerName, extSNI}, {0x0a0a, nil}},
			nil, func(ch *ClientHello) bool {
				return len(ch.Extensions) == 3 && ch.Extensions[0].Type == 0xfe0d && ch.Extensions[2].Type == 0x0a0a &&
					ch.ServerName == "example.com"
			}},
		{"duplicate extension", []ext{{ExtServerName, extSNI}, {ExtALPN, extALPN}, {ExtServerName, extSNI}},
			[]string{"duplicate_extension_0"}, func(ch *ClientHello) bool { return len(ch.Extensions) == 3 }},
		{"pre_shared_key not last", []ext{{ExtPreSharedKey, extPSK}, {ExtServerName, extSNI}},
			[]string{"psk_not_last"}, func(ch *ClientHello) bool { return len(ch.PSKIdentities) == 1 && ch.ServerName != "" }},
		{"malformed server_name", []ext{{ExtServerName, extSNI[:len(extSNI)-1]}, {ExtALPN, extALPN}},
			[]string{"malformed_extension_0"}, func(ch *ClientHello) bool { return len(ch.ALPN) == 2 }},
		{"server_name with trailing byte", []ext{{ExtServerName, append(bytes.Clone(extSNI), 0)}},
			[]string{"malformed_extension_0"}, nil},
		{"malformed alpn", []ext{{ExtALPN, []byte{0, 3, 5, 'h', '2'}}}, []string{"malformed_extension_16"}, nil},
		{"odd supported_versions", []ext{{ExtSupportedVersions, []byte{3, 3, 4, 3}}}, []string{"malformed_extension_43"}, nil},
		{"malformed pre_shared_key", []ext{{ExtPreSharedKey, extPSK[:20]}}, []string{"malformed_extension_41"}, nil},
		{"pre_shared_key identity without age", []ext{{ExtPreSharedKey, []byte{0, 2, 0, 0, 0, 0}}},
			[]string{"malformed_extension_41"}, nil},
		{"malformed psk_key_exchange_modes", []ext{{ExtPSKKeyExchangeModes, []byte{2, 1}}}, []string{"malformed_extension_45"}, nil},
		{"empty server_name data", []ext{{ExtServerName, nil}}, []string{"malformed_extension_0"}, nil},
		{"two notes", []ext{{ExtPreSharedKey, extPSK[:3]}, {ExtALPN, extALPN}, {ExtALPN, extALPN}},
			[]string{"duplicate_extension_16", "malformed_extension_41", "psk_not_last"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ParseClientHello(buildClientHello(make([]byte, 32), tt.exts))
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(ch.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", ch.Notes, tt.notes)
			}
			if tt.check != nil && !tt.check(ch) {
				t.Errorf("fields: %+v", ch)
			}
		})
	}

	t.Run("trailing bytes", func(t *testing.T) {
		body := append(buildClientHello(nil, []ext{{ExtServerName, extSNI}}), 0, 0)
		ch, err := ParseClientHello(body)
		if err != nil {
			t.Fatal(err)
		}
		if !equalStrings(ch.Notes, []string{"trailing_bytes_client_hello"}) || ch.ServerName != "example.com" {
			t.Errorf("notes %q, server name %q", ch.Notes, ch.ServerName)
		}
	})
}

func TestParseClientHelloErrors(t *testing.T) {
	good := buildClientHello(make([]byte, 32), []ext{{ExtServerName, extSNI}})
	fixed := fixedLen(good)
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"33-byte session id", buildClientHello(make([]byte, 33), nil)},
		{"no cipher suites", func() []byte {
			b := bytes.Clone(good[:35])
			b = append(b, 0, 0, 1, 0) // empty suites, one null compression
			return b
		}()},
		{"odd cipher suites", func() []byte {
			b := bytes.Clone(good[:35])
			b = append(b, 0, 3, 0x13, 0x01, 0x13, 1, 0)
			return b
		}()},
		{"one byte of extensions", append(bytes.Clone(good[:fixed]), 0)},
		{"extensions block too long", append(bytes.Clone(good[:fixed]), 0, 9, 0, 0, 0, 0)},
		{"extension header cut", append(bytes.Clone(good[:fixed]), 0, 3, 0, 0, 0)},
		{"extension data over the block", append(bytes.Clone(good[:fixed]), 0, 4, 0, 0, 0, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if ch, err := ParseClientHello(tt.body); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", ch, err)
			}
		})
	}
}

func FuzzParseClientHello(f *testing.F) {
	h := recordGoHandshakes(f)
	// Go TLS 1.2 client, first connection: empty session_ticket.
	f.Add(goMessagesOfType(f, h.tls12Full, false, TypeClientHello)[0])
	// Go TLS 1.2 client offering a ticket.
	f.Add(goMessagesOfType(f, h.tls12Resumed, false, TypeClientHello)[0])
	// Go TLS 1.3 client: X25519MLKEM768 key share, no PSK.
	f.Add(goMessagesOfType(f, h.tls13Full, false, TypeClientHello)[0])
	// Go TLS 1.3 client offering a PSK (pre_shared_key last, binders).
	f.Add(goMessagesOfType(f, h.tls13Resumed, false, TypeClientHello)[0])
	// Go's second ClientHello after a HelloRetryRequest (P-256 share).
	f.Add(goMessagesOfType(f, h.tls13HRR, false, TypeClientHello)[1])
	// A pre-extension client: no extensions block.
	f.Add(buildClientHello(nil, nil))
	// Duplicate ALPN, malformed and misplaced pre_shared_key.
	f.Add(buildClientHello(make([]byte, 32), []ext{{ExtPreSharedKey, extPSK[:3]}, {ExtALPN, extALPN}, {ExtALPN, extALPN}}))
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := ParseClientHello(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(ch.SessionID) > 32 || len(ch.Random) != 32 || ch.CipherSuites < 1 || ch.SSLv2 {
			t.Fatalf("accepted session id of %d bytes, random of %d, %d suites", len(ch.SessionID), len(ch.Random), ch.CipherSuites)
		}
		n := 0
		for _, e := range ch.Extensions {
			n += 4 + len(e.Data)
		}
		if n+2*ch.CipherSuites+len(ch.SessionID)+32 > len(body) {
			t.Fatalf("fields longer than the %d-byte body", len(body))
		}
		if len(ch.SessionTicket) > 0 && !ch.SessionTicketExt {
			t.Fatal("ticket without the extension")
		}
		if len(ch.PSKIdentities) > 0 && !slices.ContainsFunc(ch.Extensions, func(e Extension) bool { return e.Type == ExtPreSharedKey }) {
			t.Fatal("PSK identities without pre_shared_key")
		}
	})
}

func BenchmarkParseClientHello(b *testing.B) {
	h := recordGoHandshakes(b)
	for _, c := range []*goConn{h.tls12Resumed, h.tls13Resumed} {
		body := goMessagesOfType(b, c, false, TypeClientHello)[0]
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseClientHello(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
