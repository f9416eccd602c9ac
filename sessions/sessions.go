package sessions

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// Defaults.
const (
	// DefaultTimeout ends a session unused for this long (or for its
	// ticket lifetime hint, when longer).
	DefaultTimeout = time.Hour
	// DefaultMax bounds the sessions held.
	DefaultMax = 50000
	// DefaultMaxServers bounds the rows of the per-server table.
	DefaultMaxServers = 1000
)

// issuer is the connection that issued a session key, and for a TLS 1.3
// ticket its ticket_age_add; offers counts the connections that offered
// it (a TLS 1.3 ticket offered twice is a reuse, RFC 8446, Section 8).
type issuer struct {
	conn   int // 0: offered, issuer not seen
	ageAdd uint32
	hasAge bool
	offers int
}

// Config sets what Sessions does with what it decides.
type Config struct {
	// EmitConn receives each connection once judged and joined.
	EmitConn func(*Conn)
	// EmitSession receives each session when it ends.
	EmitSession func(*Session)
	// Timeout ends a session unused for this long of capture time, or for
	// its ticket lifetime hint when that is longer. Default DefaultTimeout.
	Timeout time.Duration
	// Max bounds the sessions held; past it by an eighth, the oldest end
	// at once. Default DefaultMax.
	Max int
	// MaxServers bounds the rows of the per-server table; the servers
	// seen after the first MaxServers share one row. Default
	// DefaultMaxServers.
	MaxServers int
	// Nanoseconds writes timestamps with nine fractional digits, not six.
	Nanoseconds bool
	// Sensor, when not empty, is stamped on every conn and session event
	// as `sensor`, so that the events of several capture points can be
	// merged by session key.
	Sensor string
}

// Sessions joins connections into sessions by their keys with union-find;
// a session's id is its first key. See the package documentation.
type Sessions struct {
	cfg     Config
	byKey   map[string]*Session
	issuers map[string]issuer // session keys -> the connection that issued them
	all     []*Session
	farms   map[[2]verdict.Endpoint]*FarmPair
	servers servers
	totals  Totals
	ended   int // sessions returned by Expire or End
	evicted int // sessions ended early by the bound on sessions kept
}

// New returns an empty set of sessions.
func New(cfg Config) *Sessions {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.MaxServers <= 0 {
		cfg.MaxServers = DefaultMaxServers
	}
	return &Sessions{cfg: cfg, servers: servers{max: cfg.MaxServers}, byKey: map[string]*Session{}, issuers: map[string]issuer{}, farms: map[[2]verdict.Endpoint]*FarmPair{},
		totals: Totals{ByMethod: map[verdict.Method]int{verdict.BySessionID: 0, verdict.ByTicket: 0, verdict.ByPSK: 0},
			UnknownReasons: map[string]int{}}}
}

// Observed judges one connection, joins it into its session and emits
// it. Connections must come in the order their handshakes completed in
// capture time: whether a ClientHello session ID is an offer depends on
// whether a server assigned it earlier.
func (s *Sessions) Observed(ob *verdict.Observation) {
	c := s.Join(ob)
	if s.cfg.EmitConn != nil {
		s.cfg.EmitConn(c)
	}
	if len(s.all) > s.cfg.Max+s.cfg.Max/8 {
		// Over the bound between two sweeps: the oldest end now.
		s.emit(s.Expire(c.TS.Time, 1<<62, s.cfg.Max))
	}
}

// Tick ends the sessions idle at capture time now.
func (s *Sessions) Tick(now time.Time) {
	s.emit(s.Expire(now, s.cfg.Timeout, s.cfg.Max))
}

// End ends every session still held, in order of creation.
func (s *Sessions) End() { s.emit(s.All()) }

func (s *Sessions) emit(xs []*Session) {
	if s.cfg.EmitSession == nil {
		return
	}
	for _, x := range xs {
		s.cfg.EmitSession(x)
	}
}

// Join judges ob with what earlier connections established (session ID
// offers, the session and its origin), records it in its session and the
// figures, and returns the conn event.
func (s *Sessions) Join(ob *verdict.Observation) *Conn {
	v := verdict.Decide(ob, func(key string) bool { return s.lookup(key) != nil })
	c := &Conn{Type: "conn", ID: ob.ID, TS: s.ts(ob.TS), Transport: ob.Transport, Client: ob.Client, Server: ob.Server, SNI: ob.SNI, ALPN: ob.ALPN,
		History: ob.History, Handshake: v.Handshake, Resumption: v.Resumption, Offered: v.Offered,
		Rejected: v.Rejected, Issued: v.Issued, Notes: ob.Notes, Sensor: s.cfg.Sensor, ticketSupport: ob.TicketSupport}
	if ob.ServerHello {
		c.Version, c.Cipher = ob.Version.String(), ob.Cipher.String()
	}
	if ob.ClientHello {
		c.JA3, c.JA4 = &ob.JA3, &ob.JA4
	}
	c.EarlyData, c.Retry, c.ZeroRTTPackets = ob.EarlyData, ob.Retry, ob.ZeroRTTPackets
	c.Keys = ob.Keys
	if ob.EncryptedExtensions {
		c.EarlyDataAccepted = ptr(ob.EarlyDataAccepted)
	}
	if ob.Transport == verdict.QUIC {
		c.QUICVersion = ptr(quicVersionName(ob.QUICVersion))
	}
	if ob.ClientHelloFrame > 0 {
		c.ClientHelloFrame = &ob.ClientHelloFrame
	}
	if ob.ServerHelloFrame > 0 {
		c.ServerHelloFrame = &ob.ServerHelloFrame
	}
	if v.RejectedKey != "" {
		s.rejected(s.get(v.RejectedKey), c)
	}
	s.psk(ob, &v, c)
	if v.Resumes != "" {
		if is := s.issuers[v.Resumes]; is.conn > 0 {
			c.IssuedBy = ptr(is.conn)
			if is.hasAge && ob.SelectedPSK >= 0 && ob.SelectedPSK < len(ob.PSKAges) {
				// RFC 8446, Section 4.2.11.1: the age in milliseconds,
				// modulo 2^32.
				c.TicketAge = ptr(float64(ob.PSKAges[ob.SelectedPSK]-is.ageAdd) / 1000)
			}
		}
		x := s.get(v.Resumes)
		if v.Joins != "" {
			x = s.add(x, v.Joins)
		}
		s.resumed(x, c)
	}
	if v.Creates {
		s.created(c)
	}
	// The order of notes: what the reader saw, what the session's history
	// shows (lifetime findings), then what the verdict adds.
	c.Notes = append(c.Notes, v.Notes...)
	if c.Offered == nil {
		c.Offered = []verdict.Method{}
	}
	if c.ALPN == nil {
		c.ALPN = []string{}
	}
	if c.Issued == nil {
		c.Issued = []verdict.Issued{}
	}
	if c.Notes == nil {
		c.Notes = []verdict.Note{}
	}
	s.count(c)
	return c
}

// psk notes a TLS 1.3 identity offered again: tickets are single-use
// (RFC 8446, Section 8 and Appendix C.4), so a second offer of one is a
// reuse, visible without keys.
func (s *Sessions) psk(ob *verdict.Observation, v *verdict.Verdict, c *Conn) {
	if !ob.TLS13() || len(ob.PSKs) == 0 {
		return
	}
	key := v.Resumes
	if key == "" {
		key = v.RejectedKey
	}
	if key == "" {
		return
	}
	is := s.issuers[key]
	if is.offers > 0 {
		v.Notes = append(v.Notes, verdict.NotePSKReused)
		s.servers.row(c).PSKReused++
	}
	is.offers++
	s.issuers[key] = is
}

// issue records that c issued the keys of its Issued list.
func (s *Sessions) issue(c *Conn) {
	for _, is := range c.Issued {
		key := is.Kind.Key(is.Digest)
		e := s.issuers[key]
		e.conn, e.ageAdd, e.hasAge = c.ID, is.AgeAdd, is.Kind == verdict.IssuedPSK
		s.issuers[key] = e
	}
}

// ts is a capture time as the output writes it.
func (s *Sessions) ts(t time.Time) Timestamp { return Timestamp{Time: t, Nano: s.cfg.Nanoseconds} }

// count adds c to the totals and its server's row.
func (s *Sessions) count(c *Conn) {
	t := &s.totals
	t.TLS++
	switch c.Handshake {
	case verdict.Full:
		t.Full++
	case verdict.Resumed:
		t.Resumed++
		if c.Resumption != verdict.NoMethod {
			t.ByMethod[c.Resumption]++
		}
	default:
		t.Unknown++
		t.UnknownReasons[unknownReason(c)]++
	}
	if c.Rejected {
		t.Rejected++
	}
	s.servers.add(c)
	s.servers.timeline(c)
}

// Totals returns the counts of connections judged so far.
func (s *Sessions) Totals() Totals { return s.totals }

// Servers returns the per-server table, busiest first.
func (s *Sessions) Servers() []*ServerRow { return s.servers.table() }

// Evicted is how many sessions ended early because too many were held.
func (s *Sessions) Evicted() int { return s.evicted }

// Farms returns the issuer/acceptor pairs seen, in a stable order.
func (s *Sessions) Farms() []FarmPair {
	out := make([]FarmPair, 0, len(s.farms))
	for _, f := range s.farms {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b FarmPair) int {
		if c := a.Issuer.Compare(b.Issuer); c != 0 {
			return c
		}
		return a.Acceptor.Compare(b.Acceptor)
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
		c.resumeAge = ptr(age)
	}
	c.offerAge, c.offerOrigin = ptr(age), x.originTS
	hint := x.LifetimeHint
	if hint != nil && *hint > 0 {
		switch {
		case accepted && age > float64(*hint):
			c.Notes = append(c.Notes, verdict.NoteResumedAfterHint)
		case !accepted && age < float64(*hint)/2:
			c.Notes = append(c.Notes, verdict.NoteRejectedWithinHint)
		}
	}
	if x.issuer.IP.IsValid() && x.issuer != c.Server {
		k := [2]verdict.Endpoint{x.issuer, c.Server}
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
	x := &Session{Type: "session", ID: key, Keys: []string{key}, seq: len(s.all), Sensor: s.cfg.Sensor}
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
	x.Members = append(x.Members, y.Members...)
	slices.SortFunc(x.Members, func(a, b Member) int { return a.ID - b.ID })
	x.Members = x.Members[:min(len(x.Members), Members)]
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

func (x *Session) touch(ts Timestamp) {
	if !x.hasTS || ts.Before(x.FirstTS.Time) {
		x.FirstTS = ts
	}
	if !x.hasTS || ts.After(x.LastTS.Time) {
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
	if len(x.Members) < Members {
		x.Members = append(x.Members, memberOf(c))
	}
	x.touch(c.TS)
	x.addClient(c.Client.IP)
	if x.Server == (verdict.Endpoint{}) {
		x.Server, x.SNI = c.Server, c.SNI
	}
	for _, is := range c.Issued {
		if (is.Kind == verdict.IssuedTicket || is.Kind == verdict.IssuedPSK) && is.LifetimeHint > 0 && x.LifetimeHint == nil {
			x.LifetimeHint = ptr(is.LifetimeHint)
		}
	}
}

// created starts a session at a full handshake that handed out a session
// ID or tickets.
func (s *Sessions) created(c *Conn) {
	var x *Session
	for _, is := range c.Issued {
		key := is.Kind.Key(is.Digest)
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
		x.Origin, x.originTS, x.issuer = ptr(c.ID), c.TS.Time, c.Server
	}
	x.member(c)
	c.Session = ptr(x.ID)
	s.issue(c)
}

func (s *Sessions) resumed(x *Session, c *Conn) {
	for _, is := range c.Issued {
		// A ticket renewed during a resumption joins the same session.
		x = s.add(x, is.Kind.Key(is.Digest))
	}
	x = s.find(x)
	s.offer(x, c, true)
	x.member(c)
	x.Resumptions++
	s.issue(c)
	c.Session = ptr(x.ID)
	c.Resumes = x.Origin
	if x.Origin != nil {
		age := c.TS.Sub(x.originTS).Seconds()
		if x.MaxResumeAge == nil || age > *x.MaxResumeAge {
			x.MaxResumeAge = ptr(age)
		}
	}
}

func memberOf(c *Conn) Member {
	return Member{ID: c.ID, TS: c.TS.Time, Client: c.Client, Handshake: c.Handshake, Resumption: c.Resumption, Rejected: c.Rejected}
}

func (s *Sessions) rejected(x *Session, c *Conn) {
	x = s.find(x)
	s.offer(x, c, false)
	x.Rejected++
	x.RejectedConns = append(x.RejectedConns, c.ID)
	// The report draws the refused offer in the tree of the session it
	// offered, in order of id.
	x.Members = append(x.Members, memberOf(c))
	slices.SortFunc(x.Members, func(a, b Member) int { return a.ID - b.ID })
	x.Members = x.Members[:min(len(x.Members), Members)]
	x.touch(c.TS)
	if x.Server == (verdict.Endpoint{}) {
		x.Server, x.SNI = c.Server, c.SNI
	}
}

// finalize makes a root session ready to be printed: lists sorted, none
// null.
func (x *Session) finalize() *Session {
	slices.Sort(x.Conns)
	slices.Sort(x.RejectedConns)
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
	s.all, s.byKey, s.issuers = nil, map[string]*Session{}, map[string]issuer{}
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
		if !evict[root] && (!root.hasTS || now.Sub(root.LastTS.Time) <= limit) {
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
			delete(s.issuers, k)
		}
	}
	s.ended += len(out)
	return out
}

// Held is how many sessions (and merged keys' records) are held.
func (s *Sessions) Held() int { return len(s.all) }

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

// quicVersionName names a QUIC version as quic.Version does (sessions
// does not import the packet parsers).
func quicVersionName(v uint32) string {
	switch v {
	case 1:
		return "QUICv1"
	case 0x6b3343cf: // RFC 9369, Section 3.1
		return "QUICv2"
	}
	if v&0xffffff00 == 0xff000000 {
		return fmt.Sprintf("draft-%d", v&0xff)
	}
	return fmt.Sprintf("0x%08x", v)
}
