package verdict

import (
	"slices"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// TestDecide has one case per resumption rule (docs/design.md,
// "Resumption rules"), each written from the RFC text it cites.
func TestDecide(t *testing.T) {
	tls12 := func(ob Observation) *Observation {
		ob.ClientHello, ob.ServerHello, ob.Version, ob.SelectedPSK = true, true, tlsparse.VersionTLS12, -1
		return &ob
	}
	tls13 := func(ob Observation) *Observation {
		ob.ClientHello, ob.ServerHello, ob.Version = true, true, tlsparse.VersionTLS13
		return &ob
	}
	tkt := Issued{Kind: IssuedTicket, Digest: "t2", Length: 160, LifetimeHint: 300}
	cases := []struct {
		name     string
		ob       *Observation
		assigned []string // session keys a server assigned before
		want     Verdict
	}{
		// RFC 8446, Section 4.2.11: the server selects an offered identity.
		{"tls13 psk selected", tls13(Observation{PSKs: []string{"p1", "p2"}, HasPSK: true, SelectedPSK: 1}), nil,
			Verdict{Handshake: Resumed, Resumption: ByPSK, Offered: []Method{ByPSK}, Resumes: "psk:p2"}},
		// Identities offered, no pre_shared_key in the ServerHello: full, rejected.
		{"tls13 psk rejected", tls13(Observation{PSKs: []string{"p1"}, SelectedPSK: -1}), nil,
			Verdict{Handshake: Full, Offered: []Method{ByPSK}, Rejected: true, RejectedKey: "psk:p1"}},
		// Appendix D.4: the legacy session ID echo is middlebox compatibility.
		{"tls13 compat echo", tls13(Observation{ClientSessionID: "aa", ServerSessionID: "aa", SelectedPSK: -1}), []string{"sid:aa"},
			Verdict{Handshake: Full}},
		{"tls13 selected out of range", tls13(Observation{PSKs: []string{"p1"}, HasPSK: true, SelectedPSK: 3}), nil,
			Verdict{Handshake: Resumed, Resumption: ByPSK, Offered: []Method{ByPSK}, Notes: []Note{NoteSelectedOutOfRange}}},
		// Without the ClientHello, the ServerHello alone proves the resumption.
		{"tls13 no client hello", &Observation{ServerHello: true, Version: tlsparse.VersionTLS13, HasPSK: true, SelectedPSK: 0}, nil,
			Verdict{Handshake: Resumed, Resumption: ByPSK}},
		// RFC 5077, Section 3.4: ticket offered, abbreviated flight.
		{"tls12 ticket resumed", tls12(Observation{Ticket: "t1", ServerCCS: true, Tickets: []Issued{tkt}}), nil,
			Verdict{Handshake: Resumed, Resumption: ByTicket, Offered: []Method{ByTicket}, Issued: []Issued{tkt}, Resumes: "tkt:t1"}},
		// RFC 5077, Section 3.4: the echo of an assigned session ID beside an accepted ticket is still a ticket resumption.
		{"tls12 ticket with echo", tls12(Observation{Ticket: "t1", ClientSessionID: "aa", ServerSessionID: "aa", ServerCCS: true}), []string{"sid:aa"},
			Verdict{Handshake: Resumed, Resumption: ByTicket, Offered: []Method{ByTicket, BySessionID}, Resumes: "tkt:t1", Joins: "sid:aa"}},
		// RFC 5246, Section 7.4.1.3: the server echoes the session ID it resumes, even one assigned before the capture.
		{"tls12 session id resumed", tls12(Observation{ClientSessionID: "aa", ServerSessionID: "aa", ServerCCS: true}), nil,
			Verdict{Handshake: Resumed, Resumption: BySessionID, Offered: []Method{BySessionID}, Resumes: "sid:aa"}},
		{"tls12 abbreviated without offer", tls12(Observation{ServerSessionID: "bb", ServerCCS: true}), nil,
			Verdict{Notes: []Note{NoteAbbreviatedWithoutOffer}}},
		// RFC 5246, Section 7.3: Certificate etc. make a full handshake; the offered ticket was rejected.
		{"tls12 ticket rejected", tls12(Observation{Ticket: "t1", ServerSessionID: "cc", FullFlight: true, Tickets: []Issued{tkt}}), nil,
			Verdict{Handshake: Full, Offered: []Method{ByTicket}, Rejected: true, RejectedKey: "tkt:t1", Creates: true,
				Issued: []Issued{{Kind: IssuedSessionID, Digest: "cc", Length: 1}, tkt}}},
		{"tls12 session id rejected", tls12(Observation{ClientSessionID: "aa", ServerSessionID: "cc", FullFlight: true}), []string{"sid:aa"},
			Verdict{Handshake: Full, Offered: []Method{BySessionID}, Rejected: true, RejectedKey: "sid:aa", Creates: true,
				Issued: []Issued{{Kind: IssuedSessionID, Digest: "cc", Length: 1}}}},
		// A session ID no server assigned is no offer (RFC 8446, Appendix D.4 clients send random ones).
		{"tls12 unknown session id", tls12(Observation{ClientSessionID: "ee", ServerSessionID: "cc", FullFlight: true}), nil,
			Verdict{Handshake: Full, Creates: true, Notes: []Note{NoteUnknownSessionID},
				Issued: []Issued{{Kind: IssuedSessionID, Digest: "cc", Length: 1}}}},
		// RFC 5077, Section 3.2: an empty session_ticket only announces support.
		{"tls12 empty ticket", tls12(Observation{FullFlight: true}), nil,
			Verdict{Handshake: Full, Creates: true}},
		// An absence read across a gap proves nothing.
		{"tls12 abbreviated across a gap", tls12(Observation{Ticket: "t1", ServerCCS: true, ServerGap: true}), nil,
			Verdict{Offered: []Method{ByTicket}, Notes: []Note{NoteAbbreviatedUnproven}}},
		{"no server hello", &Observation{ClientHello: true, Ticket: "t1", PSKs: []string{"p1"}, SelectedPSK: -1}, nil,
			Verdict{Offered: []Method{ByTicket, ByPSK}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.ob, func(k string) bool { return slices.Contains(tc.assigned, k) })
			if !equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equal(a, b Verdict) bool {
	return a.Handshake == b.Handshake && a.Resumption == b.Resumption && slices.Equal(a.Offered, b.Offered) &&
		a.Rejected == b.Rejected && slices.Equal(a.Issued, b.Issued) && slices.Equal(a.Notes, b.Notes) &&
		a.Resumes == b.Resumes && a.Joins == b.Joins && a.RejectedKey == b.RejectedKey && a.Creates == b.Creates
}

func TestVocabularies(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Unknown.String(), "unknown"}, {Full.String(), "full"}, {Resumed.String(), "resumed"},
		{BySessionID.String(), "session_id"}, {ByTicket.String(), "ticket"}, {ByPSK.String(), "psk"},
		{IssuedSessionID.String(), "session_id"}, {IssuedTicket.String(), "ticket"},
		{string(AlertNote(40)), "alert_40"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
	if b, _ := NoMethod.MarshalJSON(); string(b) != "null" {
		t.Errorf("NoMethod marshals as %s, want null", b)
	}
}
