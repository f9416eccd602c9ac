package tlscrypt

import "testing"

// FuzzOpen: Open never panics on any record bytes, for each suite.
func FuzzOpen(f *testing.F) {
	// RFC 8448's encrypted server flight and its NewSessionTicket record.
	f.Add(uint8(0), unhex(f, rfcServerFlight))
	f.Add(uint8(0), unhex(f, rfcNSTRecord))
	// A bare header announcing more than the bound.
	f.Add(uint8(1), []byte{23, 3, 3, 0x48, 0x01})
	// A handshake-typed (unencrypted) record header.
	f.Add(uint8(2), []byte{22, 3, 3, 0, 1, 1})
	suites := []Suite{TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256}
	secret := unhex(f, rfcServerHSSecret)
	f.Fuzz(func(t *testing.T, which uint8, record []byte) {
		sec := secret
		if suites[int(which)%len(suites)] == TLS_AES_256_GCM_SHA384 {
			sec = append(append([]byte{}, secret...), secret[:16]...)
		}
		d, err := NewDecrypter(suites[int(which)%len(suites)], sec)
		if err != nil {
			t.Fatal(err)
		}
		typ, pt, err := d.Open(record)
		if err == nil && (typ == 0 || len(pt) > MaxCiphertext) {
			t.Fatalf("opened type %d with %d bytes", typ, len(pt))
		}
	})
}

// FuzzParseNewSessionTicket13 never panics, and what parses has a ticket.
func FuzzParseNewSessionTicket13(f *testing.F) {
	// RFC 8448's NewSessionTicket body.
	f.Add(unhex(f, rfcNST)[4:])
	// A minimal ticket: lifetime, age_add, empty nonce, one-byte ticket, no extensions.
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0xaa, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		nst, err := ParseNewSessionTicket13(body)
		if err == nil && len(nst.Ticket) == 0 {
			t.Fatal("empty ticket accepted")
		}
	})
}
