package tlsparse

import (
	"bytes"
	"errors"
	"testing"
)

// TestParseNewSessionTicketGo parses the tickets a crypto/tls TLS 1.2
// server sent and compares them with what the client's session cache was
// given.
func TestParseNewSessionTicketGo(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range []*goConn{h.tls12Full, h.tls12Resumed} {
		t.Run(c.name, func(t *testing.T) {
			bodies := goMessagesOfType(t, c, true, TypeNewSessionTicket)
			if len(bodies) != len(c.issued) {
				t.Fatalf("%d NewSessionTickets, client cached %d", len(bodies), len(c.issued))
			}
			for i, body := range bodies {
				nst, err := ParseNewSessionTicket(body)
				if err != nil {
					t.Fatal(err)
				}
				// crypto/tls leaves ticket_lifetime_hint zero, "unspecified"
				// (handshake_messages.go, newSessionTicketMsg.marshal: x[4:8]
				// are never written).
				if nst.LifetimeHint != 0 {
					t.Errorf("lifetime hint %d, want 0", nst.LifetimeHint)
				}
				if !bytes.Equal(nst.Ticket, c.issued[i]) {
					t.Errorf("ticket %x, client cached %x", nst.Ticket, c.issued[i])
				}
			}
		})
	}
	// The resumed connection offers the ticket the first one issued.
	if !bytes.Equal(h.tls12Resumed.offered, h.tls12Full.issued[0]) {
		t.Error("resumed connection's cached ticket is not the first connection's")
	}
}

func TestParseNewSessionTicket(t *testing.T) {
	ticket := bytes.Repeat([]byte{0xab}, 64)
	body := append([]byte{0, 0, 0x1c, 0x20, 0, 64}, ticket...) // 7200 s, as OpenSSL sends
	for _, tt := range []struct {
		name     string
		body     []byte
		lifetime uint32
		ticket   []byte
		err      bool
	}{
		{"openssl-like", body, 7200, ticket, false},
		{"empty ticket", []byte{0, 0, 0, 0, 0, 0}, 0, []byte{}, false},
		{"max lifetime hint", []byte{0xff, 0xff, 0xff, 0xff, 0, 1, 9}, 0xffffffff, []byte{9}, false},
		{"trailing byte", append(bytes.Clone(body), 0), 0, nil, true},
		{"ticket longer than the body", []byte{0, 0, 0, 0, 0, 2, 1}, 0, nil, true},
		{"tls 1.3 form", []byte{0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, 0, 0, 1, 7, 0, 0}, 0, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nst, err := ParseNewSessionTicket(tt.body)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %+v, %v; want ErrMalformed", nst, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if nst.LifetimeHint != tt.lifetime || !bytes.Equal(nst.Ticket, tt.ticket) {
				t.Fatalf("got %d, %x; want %d, %x", nst.LifetimeHint, nst.Ticket, tt.lifetime, tt.ticket)
			}
		})
	}

	t.Run("prefixes", func(t *testing.T) {
		h := recordGoHandshakes(t)
		for _, b := range [][]byte{body, goMessagesOfType(t, h.tls12Full, true, TypeNewSessionTicket)[0]} {
			for i := 0; i < len(b); i++ {
				if _, err := ParseNewSessionTicket(b[:i]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("prefix of %d of %d bytes: %v", i, len(b), err)
				}
			}
		}
	})
}

func FuzzParseNewSessionTicket(f *testing.F) {
	h := recordGoHandshakes(f)
	// crypto/tls TLS 1.2 ticket: lifetime hint 0, encrypted state.
	f.Add(goMessagesOfType(f, h.tls12Full, true, TypeNewSessionTicket)[0])
	// OpenSSL-like: 7200 s hint, 64-byte ticket.
	f.Add(append([]byte{0, 0, 0x1c, 0x20, 0, 64}, bytes.Repeat([]byte{0xab}, 64)...))
	// An empty ticket (RFC 5077, Section 3.3: the server cannot issue one).
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		nst, err := ParseNewSessionTicket(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if 6+len(nst.Ticket) != len(body) || !bytes.Equal(nst.Ticket, body[6:]) {
			t.Fatalf("ticket of %d bytes from a %d-byte body", len(nst.Ticket), len(body))
		}
	})
}
