package verdict

// Verdict is how a connection began, and what it does to the sessions.
type Verdict struct {
	Handshake  Outcome
	Resumption Method // NoMethod unless Resumed
	Offered    []Method
	Rejected   bool     // something was offered and a full handshake followed
	Issued     []Issued // session IDs and tickets the server handed out
	Notes      []Note   // added by the verdict, after the observation's

	// What the connection does to the sessions (keys as in docs/design.md,
	// "Sessions"): Resumes is the key of the session it resumed, and Joins
	// another key the resumption proves belongs to it; RejectedKey is the
	// key it offered in vain; Creates says that the keys in Issued start a
	// session with this connection as its origin.
	Resumes     string
	Joins       string
	RejectedKey string
	Creates     bool
}

// Assigned reports whether a server in the capture assigned the TLS 1.2
// session ID with this key ("sid:<hex>") before the connection being
// judged.
type Assigned func(key string) bool

// Decide judges one connection. It is pure: the same observation and the
// same answers from assigned give the same verdict.
func Decide(ob *Observation, assigned Assigned) Verdict {
	var v Verdict
	switch {
	case !ob.ServerHello:
		return decideNoServerHello(ob, v)
	case ob.TLS13():
		return decide13(ob, v)
	}
	return decide12(ob, v, assigned)
}

// decideNoServerHello: without a ServerHello nothing was decided; only the
// client's offers are known.
func decideNoServerHello(ob *Observation, v Verdict) Verdict {
	if ob.Ticket != "" {
		v.Offered = append(v.Offered, ByTicket)
	}
	if len(ob.PSKs) > 0 {
		v.Offered = append(v.Offered, ByPSK)
	}
	return v
}

// decide13 applies the TLS 1.3 rules.
//
// RFC 8446, Section 4.2.11: the client offers pre_shared_key identities;
// the server resumes by selecting one in its ServerHello's
// pre_shared_key. Identities offered and a ServerHello without
// pre_shared_key is a full handshake that rejected them, whether or not
// the ClientHello was captured. The legacy session ID and its echo are
// middlebox compatibility (Appendix D.4): never a resumption.
//
// With the key log the server's NewSessionTickets are read (RFC 8446,
// Section 4.6.1): a full handshake that issued them starts a session, and
// tickets issued on a resumption join its session.
func decide13(ob *Observation, v Verdict) Verdict {
	if len(ob.PSKs) > 0 {
		v.Offered = append(v.Offered, ByPSK)
	}
	v.Issued = ob.Tickets
	if !ob.HasPSK {
		v.Handshake = Full
		if len(ob.PSKs) > 0 {
			v.Rejected = true
			v.RejectedKey = "psk:" + ob.PSKs[0]
		}
		v.Creates = len(ob.Tickets) > 0
		return v
	}
	if ob.Keys && ob.Certificate {
		// RFC 8446, Section 4.4.2: a PSK handshake sends no Certificate.
		v.Notes = append(v.Notes, NoteCertificateInResumption)
	}
	v.Handshake, v.Resumption = Resumed, ByPSK
	switch {
	case ob.SelectedPSK >= 0 && ob.SelectedPSK < len(ob.PSKs):
		v.Resumes = "psk:" + ob.PSKs[ob.SelectedPSK]
	case ob.ClientHello:
		// RFC 8446, Section 4.2.11: selected_identity must index the
		// client's list.
		v.Notes = append(v.Notes, NoteSelectedOutOfRange)
	}
	return v
}

// decide12 applies the rules of TLS 1.2 and older.
func decide12(ob *Observation, v Verdict, assigned Assigned) Verdict {
	// RFC 5246, Section 7.4.1.3: the server echoes the session ID it
	// resumes.
	echo := ob.ServerSessionID != "" && ob.ClientHello && ob.ClientSessionID == ob.ServerSessionID
	// RFC 5077, Section 3.2: only a non-empty ticket is an offer.
	if ob.Ticket != "" {
		v.Offered = append(v.Offered, ByTicket)
	}
	abbreviated := false
	switch {
	case ob.FullFlight:
		// RFC 5246, Section 7.3: Certificate, ServerKeyExchange,
		// CertificateRequest or ServerHelloDone make a full handshake.
		v.Handshake = Full
	case ob.ServerCCS && !ob.ServerGap:
		// RFC 5246, Section 7.3: an abbreviated handshake goes from
		// ServerHello straight to ChangeCipherSpec.
		abbreviated = true
	case ob.ServerCCS:
		// Read across a gap, the absence of a Certificate proves nothing.
		v.Notes = append(v.Notes, NoteAbbreviatedUnproven)
	}
	if ob.ServerSessionID != "" && !echo && v.Handshake == Full {
		v.Issued = append(v.Issued, Issued{Kind: IssuedSessionID, Digest: ob.ServerSessionID, Length: len(ob.ServerSessionID) / 2})
	}
	v.Issued = append(v.Issued, ob.Tickets...)

	// A ClientHello session ID is an offer only when a server in the
	// capture assigned it earlier: TLS 1.3-capable clients send a random
	// one on every connection (RFC 8446, Appendix D.4), and so do Go's
	// clients and RFC 5077 clients beside a ticket.
	sidKey := ""
	if ob.ClientSessionID != "" {
		sidKey = "sid:" + ob.ClientSessionID
	}
	sidKnown := sidKey != "" && assigned(sidKey)
	if sidKnown {
		v.Offered = append(v.Offered, BySessionID)
	}
	switch {
	case abbreviated && ob.Ticket != "":
		// RFC 5077, Section 3.4: the server may echo the session ID to
		// accept a ticket; it is still a ticket resumption.
		v.Handshake, v.Resumption = Resumed, ByTicket
		v.Resumes = "tkt:" + ob.Ticket
		if sidKnown && echo {
			v.Joins = sidKey
		}
	case abbreviated && echo:
		// RFC 5246, Section 7.4.1.3: no ticket, the session ID echoed,
		// an abbreviated flight: resumed by session ID, even one assigned
		// before the capture.
		v.Handshake, v.Resumption = Resumed, BySessionID
		if !sidKnown {
			v.Offered = append(v.Offered, BySessionID)
		}
		v.Resumes = sidKey
	case abbreviated:
		v.Notes = append(v.Notes, NoteAbbreviatedWithoutOffer)
	case v.Handshake == Full:
		if ob.Ticket != "" || sidKnown {
			v.Rejected = true
			v.RejectedKey = sidKey
			if ob.Ticket != "" {
				v.RejectedKey = "tkt:" + ob.Ticket
			}
		}
		if sidKey != "" && !sidKnown && !echo {
			v.Notes = append(v.Notes, NoteUnknownSessionID)
		}
		v.Creates = true
	}
	return v
}
