package flows

import (
	"net/netip"
	"slices"
	"time"
)

// Session is a TLS session: the connections that share one negotiated
// state through resumption. It is the `session` event.
type Session struct {
	Type          string       `json:"type"`
	ID            string       `json:"id"`
	Keys          []string     `json:"keys"`
	Origin        *int         `json:"origin"`
	Conns         []int        `json:"conns"`
	Resumptions   int          `json:"resumptions"`
	Rejected      int          `json:"rejected"`
	RejectedConns []int        `json:"rejected_conns"`
	FirstTS       time.Time    `json:"first_ts"`
	LastTS        time.Time    `json:"last_ts"`
	Server        Endpoint     `json:"server"`
	SNI           string       `json:"sni"`
	Clients       []netip.Addr `json:"clients"`
	LifetimeHint  *int64       `json:"lifetime_hint"`
	MaxResumeAge  *float64     `json:"max_resume_age"`

	parent   *Session
	seq      int
	originTS time.Time
	hasTS    bool
	issuer   Endpoint // server of the origin connection, when visible
}

// FarmPair counts, for sessions issued by one server address and offered to
// another, how many offers the other accepted and rejected: whether a farm
// shares its session cache or ticket keys.
type FarmPair struct {
	Issuer   Endpoint `json:"issuer"`
	Acceptor Endpoint `json:"acceptor"`
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
}

// Sessions joins connections into sessions by their keys: `sid:<hex>` for
// a session ID a server assigned, `tkt:<digest>` for a TLS 1.2 ticket,
// `psk:<digest>` for a TLS 1.3 PSK identity. Keys are joined with
// union-find; a session's id is its first key.
//
// Join must see connections in the order their handshakes completed in
// capture time: whether a ClientHello session ID is an offer depends on
// whether a server assigned it earlier.
type Sessions struct {
	byKey   map[string]*Session
	all     []*Session
	farms   map[[2]Endpoint]*FarmPair
	ended   int // sessions returned by Expire or All
	evicted int // sessions ended early by the bound on sessions kept
}

// held is how many sessions (and merged keys' records) are held.
func (s *Sessions) held() int { return len(s.all) }

// Evicted is how many sessions ended early because too many were held.
func (s *Sessions) Evicted() int { return s.evicted }

// NewSessions returns an empty set of sessions.
func NewSessions() *Sessions {
	return &Sessions{byKey: map[string]*Session{}, farms: map[[2]Endpoint]*FarmPair{}}
}

// Farms returns the issuer/acceptor pairs seen, in a stable order.
func (s *Sessions) Farms() []FarmPair {
	out := make([]FarmPair, 0, len(s.farms))
	for _, f := range s.farms {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b FarmPair) int {
		if c := a.Issuer.compare(b.Issuer); c != 0 {
			return c
		}
		return a.Acceptor.compare(b.Acceptor)
	})
	return out
}

// offer records an offer of session x to c's server: a farm pair when the
// session was issued by another address, and the lifetime finding.
func (s *Sessions) offer(x *Session, c *Conn, accepted bool) {
	if x.Origin == nil {
		return
	}
	age := c.TS.Sub(x.originTS).Seconds()
	if accepted {
		c.ResumeAge = ptr(age)
	}
	hint := x.LifetimeHint
	if hint != nil && *hint > 0 {
		switch {
		case accepted && age > float64(*hint):
			c.Notes = append(c.Notes, "resumed_after_lifetime_hint")
		case !accepted && age < float64(*hint)/2:
			c.Notes = append(c.Notes, "rejected_within_lifetime_hint")
		}
	}
	if x.issuer.IP.IsValid() && x.issuer != c.Server {
		k := [2]Endpoint{x.issuer, c.Server}
		f := s.farms[k]
		if f == nil {
			f = &FarmPair{Issuer: k[0], Acceptor: k[1]}
			s.farms[k] = f
		}
		if accepted {
			f.Accepted++
		} else {
			f.Rejected++
		}
	}
}

func (s *Sessions) find(x *Session) *Session {
	for x.parent != nil {
		if x.parent.parent != nil {
			x.parent = x.parent.parent
		}
		x = x.parent
	}
	return x
}

func (s *Sessions) lookup(key string) *Session {
	if x, ok := s.byKey[key]; ok {
		return s.find(x)
	}
	return nil
}

// get returns the session of key, creating it when new.
func (s *Sessions) get(key string) *Session {
	if x := s.lookup(key); x != nil {
		return x
	}
	x := &Session{Type: "session", ID: key, Keys: []string{key}, seq: len(s.all)}
	s.all = append(s.all, x)
	s.byKey[key] = x
	return x
}

// add joins key to session x and returns the session's root.
func (s *Sessions) add(x *Session, key string) *Session {
	x = s.find(x)
	y := s.lookup(key)
	switch {
	case y == nil:
		s.byKey[key] = x
		x.Keys = append(x.Keys, key)
		return x
	case y == x:
		return x
	}
	return s.union(x, y)
}

// union merges two sessions; the older one stays the root.
func (s *Sessions) union(x, y *Session) *Session {
	if y.seq < x.seq {
		x, y = y, x
	}
	y.parent = x
	x.Keys = append(x.Keys, y.Keys...)
	x.Conns = append(x.Conns, y.Conns...)
	slices.Sort(x.Conns)
	x.RejectedConns = append(x.RejectedConns, y.RejectedConns...)
	slices.Sort(x.RejectedConns)
	x.Resumptions += y.Resumptions
	x.Rejected += y.Rejected
	if x.Origin == nil {
		x.Origin, x.originTS, x.issuer = y.Origin, y.originTS, y.issuer
	}
	if y.hasTS {
		x.touch(y.FirstTS)
		x.touch(y.LastTS)
	}
	for _, c := range y.Clients {
		x.addClient(c)
	}
	if x.LifetimeHint == nil {
		x.LifetimeHint = y.LifetimeHint
	}
	if y.MaxResumeAge != nil && (x.MaxResumeAge == nil || *y.MaxResumeAge > *x.MaxResumeAge) {
		x.MaxResumeAge = y.MaxResumeAge
	}
	return x
}

func (x *Session) touch(ts time.Time) {
	if !x.hasTS || ts.Before(x.FirstTS) {
		x.FirstTS = ts
	}
	if !x.hasTS || ts.After(x.LastTS) {
		x.LastTS = ts
	}
	x.hasTS = true
}

func (x *Session) addClient(a netip.Addr) {
	if !slices.Contains(x.Clients, a) {
		x.Clients = append(x.Clients, a)
	}
}

func (x *Session) member(c *Conn) {
	x.Conns = append(x.Conns, c.ID)
	x.touch(c.TS)
	x.addClient(c.Client.IP)
	if x.Server == (Endpoint{}) {
		x.Server, x.SNI = c.Server, c.SNI
	}
	for _, is := range c.Issued {
		if is.Kind == ByTicket && is.LifetimeHint > 0 && x.LifetimeHint == nil {
			x.LifetimeHint = ptr(is.LifetimeHint)
		}
	}
}

// Join finishes c's verdict with what earlier connections established
// (session ID offers, rejections, the session and its origin) and records
// c in its session.
func (s *Sessions) Join(c *Conn) {
	ob := &c.obs
	switch {
	case !ob.negotiated:
		if ob.ticketDigest != "" {
			c.Offered = append(c.Offered, ByTicket)
		}
		if len(ob.pskDigests) > 0 {
			c.Offered = append(c.Offered, ByPSK)
		}
	case ob.tls13:
		s.join13(c)
	default:
		s.join12(c)
	}
	if c.Offered == nil {
		c.Offered = []string{}
	}
	if c.ALPN == nil {
		c.ALPN = []string{}
	}
	if c.Issued == nil {
		c.Issued = []Issued{}
	}
	if c.Notes == nil {
		c.Notes = []string{}
	}
}

func (s *Sessions) join13(c *Conn) {
	ob := &c.obs
	switch {
	case c.Handshake == Resumed && ob.selectedPSK >= 0 && ob.selectedPSK < len(ob.pskDigests):
		x := s.get("psk:" + ob.pskDigests[ob.selectedPSK])
		s.resumed(x, c)
	case c.Handshake == Full && len(ob.pskDigests) > 0:
		c.Rejected = true
		s.rejected(s.get("psk:"+ob.pskDigests[0]), c)
	}
}

func (s *Sessions) join12(c *Conn) {
	ob := &c.obs
	sidKey := ""
	if ob.chSessionID != "" {
		sidKey = "sid:" + ob.chSessionID
	}
	// DESIGN, resumption rules: a ClientHello session ID is an offer only
	// when a server in the capture assigned it earlier.
	sidKnown := sidKey != "" && s.lookup(sidKey) != nil
	if sidKnown {
		c.Offered = append(c.Offered, BySessionID)
	}
	switch {
	case ob.abbreviated && ob.ticketDigest != "":
		// RFC 5077, Section 3.4: the server may echo the session ID to
		// accept a ticket; it is still a ticket resumption.
		c.Handshake, c.Resumption = Resumed, ptr(ByTicket)
		x := s.get("tkt:" + ob.ticketDigest)
		if sidKnown && ob.echo {
			x = s.add(x, sidKey)
		}
		s.resumed(x, c)
	case ob.abbreviated && ob.echo:
		// RFC 5246, Section 7.4.1.3: the server echoes the session ID it
		// resumes.
		c.Handshake, c.Resumption = Resumed, ptr(BySessionID)
		if !sidKnown {
			c.Offered = append(c.Offered, BySessionID)
		}
		s.resumed(s.get(sidKey), c)
	case ob.abbreviated:
		c.Handshake = Unknown
		c.Notes = append(c.Notes, "abbreviated_without_offer")
	case c.Handshake == Full:
		if ob.ticketDigest != "" || sidKnown {
			c.Rejected = true
			key := sidKey
			if ob.ticketDigest != "" {
				key = "tkt:" + ob.ticketDigest
			}
			s.rejected(s.get(key), c)
		}
		if sidKey != "" && !sidKnown && !ob.echo {
			c.Notes = append(c.Notes, "unknown_session_id")
		}
		s.created(c)
	}
}

// created starts a session at a full handshake that handed out a session
// ID or tickets.
func (s *Sessions) created(c *Conn) {
	var x *Session
	for _, is := range c.Issued {
		key := "sid:" + is.Digest
		if is.Kind == ByTicket {
			key = "tkt:" + is.Digest
		}
		if x == nil {
			x = s.get(key)
		} else {
			x = s.add(x, key)
		}
	}
	if x == nil {
		return
	}
	x = s.find(x)
	if x.Origin == nil {
		x.Origin, x.originTS, x.issuer = ptr(c.ID), c.TS, c.Server
	}
	x.member(c)
	c.Session = ptr(x.ID)
}

func (s *Sessions) resumed(x *Session, c *Conn) {
	for _, is := range c.Issued {
		// A ticket renewed during a resumption joins the same session.
		key := "tkt:" + is.Digest
		if is.Kind == BySessionID {
			key = "sid:" + is.Digest
		}
		x = s.add(x, key)
	}
	x = s.find(x)
	s.offer(x, c, true)
	x.member(c)
	x.Resumptions++
	c.Session = ptr(x.ID)
	c.Resumes = x.Origin
	if x.Origin != nil {
		age := c.TS.Sub(x.originTS).Seconds()
		if x.MaxResumeAge == nil || age > *x.MaxResumeAge {
			x.MaxResumeAge = ptr(age)
		}
	}
}

func (s *Sessions) rejected(x *Session, c *Conn) {
	x = s.find(x)
	s.offer(x, c, false)
	x.Rejected++
	x.RejectedConns = append(x.RejectedConns, c.ID)
	x.touch(c.TS)
	if x.Server == (Endpoint{}) {
		x.Server, x.SNI = c.Server, c.SNI
	}
}

// finalize makes a root session ready to be printed.
func (x *Session) finalize() *Session {
	if x.Conns == nil {
		x.Conns = []int{}
	}
	if x.RejectedConns == nil {
		x.RejectedConns = []int{}
	}
	if x.Clients == nil {
		x.Clients = []netip.Addr{}
	}
	return x
}

// All returns every session still held (roots only) in order of
// creation, ready to be printed, and forgets them.
func (s *Sessions) All() []*Session {
	var out []*Session
	for _, x := range s.all {
		if x.parent == nil {
			out = append(out, x.finalize())
		}
	}
	s.ended += len(out)
	s.all, s.byKey = nil, map[string]*Session{}
	return out
}

// Expire ends the sessions not used since before now-idle (or, when
// longer, their ticket lifetime hint), and the oldest past max sessions
// held: they are returned in order of creation, ready to be printed, and
// forgotten, so memory follows the live sessions and not the length of
// the capture.
func (s *Sessions) Expire(now time.Time, idle time.Duration, max int) []*Session {
	var out []*Session
	keep := s.all[:0]
	over := len(s.all) - max
	var evict map[*Session]bool
	if over > 0 {
		evict = map[*Session]bool{}
	}
	for i, x := range s.all {
		root := s.find(x)
		if i < over && !evict[root] {
			s.evicted++
			evict[root] = true
		}
		limit := idle
		if root.LifetimeHint != nil && time.Duration(*root.LifetimeHint)*time.Second > limit {
			limit = time.Duration(*root.LifetimeHint) * time.Second
		}
		if !evict[root] && (!root.hasTS || now.Sub(root.LastTS) <= limit) {
			keep = append(keep, x)
			continue
		}
		if x.parent == nil {
			out = append(out, x.finalize())
		}
	}
	if len(out) == 0 {
		return nil
	}
	clear(s.all[len(keep):])
	s.all = keep
	gone := make(map[*Session]bool, len(out))
	for _, x := range out {
		gone[x] = true
	}
	for k, x := range s.byKey {
		if gone[s.find(x)] {
			delete(s.byKey, k)
		}
	}
	s.ended += len(out)
	return out
}

// Len is the number of sessions so far, ended or held.
func (s *Sessions) Len() int {
	n := s.ended
	for _, x := range s.all {
		if x.parent == nil {
			n++
		}
	}
	return n
}
