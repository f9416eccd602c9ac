package sessions

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/tlsparse"
	"github.com/tlsresume/tlsresume/verdict"
)

// Names the tables below use.
const (
	Full        = verdict.Full
	Resumed     = verdict.Resumed
	Unknown     = verdict.Unknown
	BySessionID = verdict.BySessionID
	ByTicket    = verdict.ByTicket
	ByPSK       = verdict.ByPSK
	none        = verdict.NoMethod
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// conn12 builds a TLS 1.2 observation as the handshake reader does: the
// session ID a full handshake assigns is the ServerHello's (sid only
// documents it); tickets are the NewSessionTickets.
func conn12(id int, sec int, server string, chSID, shSID, ticket string, full, abbreviated bool, issued ...verdict.Issued) *verdict.Observation {
	ob := &verdict.Observation{ID: id, TS: t0.Add(time.Duration(sec) * time.Second),
		Client:      verdict.Endpoint{IP: netip.MustParseAddr("198.51.100.1"), Port: uint16(40000 + id)},
		Server:      verdict.Endpoint{IP: netip.MustParseAddr(server), Port: 443},
		ClientHello: true, ServerHello: true, Version: tlsparse.VersionTLS12, SelectedPSK: -1,
		ClientSessionID: chSID, ServerSessionID: shSID, Ticket: ticket, FullFlight: full, ServerCCS: abbreviated}
	for _, is := range issued {
		if is.Kind == verdict.IssuedTicket {
			ob.Tickets = append(ob.Tickets, is)
		}
	}
	return ob
}

func tkt(d string, hint int64) verdict.Issued {
	return verdict.Issued{Kind: verdict.IssuedTicket, Digest: d, LifetimeHint: hint}
}
func sid(d string) verdict.Issued { return verdict.Issued{Kind: verdict.IssuedSessionID, Digest: d} }

// TestSessionsJoin12 follows docs/design.md's TLS 1.2 rules on hand-made
// sequences of connections.
func TestSessionsJoin12(t *testing.T) {
	s := New(Config{})
	srv := "192.0.2.1"
	steps := []struct {
		ob        *verdict.Observation
		handshake verdict.Outcome
		method    verdict.Method
		rejected  bool
		resumes   int // 0: null
		session   string
		notes     string
	}{
		// 1: full handshake assigns session ID aa and ticket t1.
		{conn12(1, 0, srv, "", "aa", "", true, false, sid("aa"), tkt("t1", 300)), Full, none, false, 0, "sid:aa", ""},
		// 2: resumes by session ID aa.
		{conn12(2, 10, srv, "aa", "aa", "", false, true), Resumed, BySessionID, false, 1, "sid:aa", ""},
		// 3: offers t1 with a random session ID the server echoes: ticket.
		{conn12(3, 20, srv, "ee", "ee", "t1", false, true, tkt("t2", 300)), Resumed, ByTicket, false, 1, "sid:aa", ""},
		// 4: offers the renewed t2: same session, chain A->B->C.
		{conn12(4, 30, srv, "", "", "t2", false, true), Resumed, ByTicket, false, 1, "sid:aa", ""},
		// 5: offers t2, full handshake: rejected, new session t3.
		{conn12(5, 40, srv, "", "", "t2", true, false, tkt("t3", 300)), Full, none, true, 0, "tkt:t3", ""},
		// 6: a random session ID never assigned, full: not an offer.
		{conn12(6, 50, srv, "ff", "bb", "", true, false, sid("bb")), Full, none, false, 0, "sid:bb", "unknown_session_id"},
		// 7: a session ID assigned earlier (bb), full: rejected.
		{conn12(7, 60, srv, "bb", "cc", "", true, false, sid("cc")), Full, none, true, 0, "sid:cc", ""},
		// 8: ticket from before the capture, accepted: origin not visible.
		{conn12(8, 70, srv, "", "", "old", false, true), Resumed, ByTicket, false, 0, "tkt:old", ""},
		// 9: abbreviated without any offer: unknown.
		{conn12(9, 80, srv, "", "", "", false, true), Unknown, none, false, 0, "", "abbreviated_without_offer"},
	}
	for _, st := range steps {
		c := s.Join(st.ob)
		if c.Handshake != st.handshake || c.Resumption != st.method || c.Rejected != st.rejected {
			t.Errorf("conn %d: %s %q rejected=%v, want %s %q rejected=%v", c.ID, c.Handshake, c.Resumption, c.Rejected, st.handshake, st.method, st.rejected)
		}
		if got := deref(c.Resumes); got != st.resumes {
			t.Errorf("conn %d: resumes %d, want %d", c.ID, got, st.resumes)
		}
		if got := derefS(c.Session); got != st.session {
			t.Errorf("conn %d: session %q, want %q", c.ID, got, st.session)
		}
		if st.notes != "" && !slices.Contains(c.Notes, verdict.Note(st.notes)) {
			t.Errorf("conn %d: notes %v, want %s", c.ID, c.Notes, st.notes)
		}
	}
	all := s.All()
	var first *Session
	for _, x := range all {
		if x.ID == "sid:aa" {
			first = x
		}
	}
	if first == nil {
		t.Fatal("no session sid:aa")
	}
	if deref(first.Origin) != 1 || first.Resumptions != 3 || first.Rejected != 1 || len(first.Conns) != 4 {
		t.Errorf("sid:aa: origin %v resumptions %d rejected %d conns %v", first.Origin, first.Resumptions, first.Rejected, first.Conns)
	}
	if *first.MaxResumeAge != 30 {
		t.Errorf("max resume age %v, want 30", *first.MaxResumeAge)
	}
}

// TestSessionsTLS13 checks that TLS 1.3 sessions are joined by PSK
// identity, have no visible origin, and that a rejection counts against
// the offered identity's session.
func TestSessionsTLS13(t *testing.T) {
	s := New(Config{})
	mk := func(id int, psk []string, selected int, full bool) *Conn {
		return s.Join(&verdict.Observation{ID: id, TS: t0.Add(time.Duration(id) * time.Second),
			ClientHello: true, ServerHello: true, Version: tlsparse.VersionTLS13, PSKs: psk,
			HasPSK: !full, SelectedPSK: selected, ClientSessionID: "aa", ServerSessionID: "aa"})
	}
	a := mk(1, nil, -1, true) // full, compat session ID echo: nothing
	if a.Session != nil || a.Rejected {
		t.Errorf("full TLS 1.3: session %v rejected %v", a.Session, a.Rejected)
	}
	b := mk(2, []string{"p1"}, 0, false)
	c := mk(3, []string{"p1"}, 0, false)
	d := mk(4, []string{"p1"}, -1, true)
	if derefS(b.Session) != "psk:p1" || derefS(c.Session) != "psk:p1" || b.Resumes != nil {
		t.Errorf("sessions %v %v resumes %v", derefS(b.Session), derefS(c.Session), b.Resumes)
	}
	if !d.Rejected {
		t.Error("offered PSK then full handshake: not rejected")
	}
	all := s.All()
	if len(all) != 1 || all[0].Rejected != 1 || all[0].Resumptions != 2 {
		t.Errorf("sessions %+v", all)
	}
}

// TestSessionsExpire checks that idle sessions end, longer when the ticket
// lifetime hint says so, and that an expired key starts a new session.
func TestSessionsExpire(t *testing.T) {
	s := New(Config{})
	s.Join(conn12(1, 0, "192.0.2.1", "", "aa", "", true, false, sid("aa")))
	s.Join(conn12(2, 0, "192.0.2.1", "", "", "", true, false, tkt("t1", 7200)))
	if got := s.Expire(t0.Add(30*time.Minute), time.Hour, 100); len(got) != 0 {
		t.Fatalf("expired too early: %v", got)
	}
	got := s.Expire(t0.Add(90*time.Minute), time.Hour, 100)
	if len(got) != 1 || got[0].ID != "sid:aa" {
		t.Fatalf("after 90 minutes: %v, want sid:aa only (t1 has a 2h hint)", got)
	}
	c := s.Join(conn12(3, 91*60, "192.0.2.1", "aa", "aa", "", false, true))
	if c.Resumes != nil {
		t.Errorf("resumption of an expired session links to %d", *c.Resumes)
	}
	if n := s.Len(); n != 3 {
		t.Errorf("Len %d, want 3 (one ended, two held)", n)
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func derefS(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
