package tlsgen

import (
	"cmp"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Generate runs the scenario's connections between real crypto/tls clients and servers, writes
// what they sent as a capture (pcap, or pcapng with opt.Pcapng) to w, and returns the truth
// about every TLS connection in the order of their first packet.
func Generate(w io.Writer, sc Scenario, opt Options) ([]Conn, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	var conns []Conn
	g, err := newGen(w, sc.Name, sc.Servers, opt, func(c Conn) error {
		conns = append(conns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	order := make([]int, len(sc.Steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(sc.Steps[a].At, sc.Steps[b].At)
	})
	for _, i := range order {
		if err := g.step(i, &sc.Steps[i]); err != nil {
			return nil, err
		}
	}
	if _, err := g.close(); err != nil {
		return nil, err
	}
	return conns, nil
}

// Stream is [Generate] for captures too large to hold in memory, or steps too many to list:
// the steps come from steps, which must yield them in order of At, and the truth of each TLS
// connection is passed to truth as soon as it is known, in the order of Conn.ID. Conn.Step
// counts the steps yielded, from 0. Memory holds the connections open at one moment, the
// session caches not yet dropped (see [DropCache]) and one entry per client address; nothing
// grows with the length of the capture. An error from truth stops the run and is returned.
func Stream(w io.Writer, name string, servers []Server, steps iter.Seq[Step], opt Options, truth func(Conn) error) (Stats, error) {
	if err := validateServers(name, servers); err != nil {
		return Stats{}, err
	}
	names := make(map[string]bool, len(servers))
	for _, s := range servers {
		names[s.Name] = true
	}
	g, err := newGen(w, name, servers, opt, truth)
	if err != nil {
		return Stats{}, err
	}
	i := 0
	var last time.Duration
	for st := range steps {
		if err := validateStep(name, names, i, &st); err != nil {
			return Stats{}, err
		}
		if st.At < last {
			return Stats{}, fmt.Errorf("tlsgen: scenario %q: step %d: at %v, before the step before it (%v)", name, i, st.At, last)
		}
		last = st.At
		if err := g.step(i, &st); err != nil {
			return Stats{}, err
		}
		i++
	}
	return g.close()
}

// Stats counts what a run wrote.
type Stats struct {
	// Packets and Bytes are what went into the capture file (Bytes counts the file headers
	// too).
	Packets, Bytes int64
	// TLS, PlainTCP and UDP count the steps of each kind that were run; UDP counts exchanges
	// (two datagrams each).
	TLS, PlainTCP, UDP int
	// Resumed, Ticket, PSK and Rejected count TLS connections as the truth has them.
	Resumed, Ticket, PSK, Rejected int
	// TLS12 and TLS13 count TLS connections by negotiated version.
	TLS12, TLS13 int
}

func newGen(w io.Writer, name string, servers []Server, opt Options, truth func(Conn) error) (*gen, error) {
	opt = opt.withDefaults()
	cw := &countingWriter{w: w}
	g := &gen{
		name:      name,
		opt:       opt,
		rng:       rand.New(rand.NewPCG(uint64(opt.Seed), 0x746c7367656e)), // "tlsgen"
		ser:       newSerializer(),
		servers:   make(map[string]*serverState),
		caches:    make(map[string]*sessionCache),
		ports:     make(map[netip.Addr]uint16),
		responses: make(map[int][]byte),
		truthFn:   truth,
		cw:        cw,
	}
	out, err := newOutput(cw, &opt, rand.New(rand.NewPCG(uint64(opt.Seed), 0x64616d616765))) // "damage"
	if err != nil {
		return nil, err
	}
	g.out = out
	for _, s := range servers {
		st, err := g.newServer(s)
		if err != nil {
			return nil, err
		}
		g.servers[s.Name] = st
	}
	return g, nil
}

// step runs step i of the scenario. Steps come in order of At.
func (g *gen) step(i int, st *Step) error {
	t0 := g.opt.Start.Add(st.At).Truncate(time.Microsecond)
	if err := g.out.flushBefore(t0); err != nil {
		return err
	}
	var err error
	switch st.Kind {
	case TLS:
		err = g.tlsConn(i, st, t0)
		g.stats.TLS++
	case RotateKeys:
		keys := st.Keys
		if keys == "" {
			keys = fmt.Sprintf("rotated-%d", i)
		}
		g.servers[st.Server].cfg.SetSessionTicketKeys(g.ticketKeys(keys))
	case PlainTCP:
		err = g.plainConn(st, t0)
		g.stats.PlainTCP++
	case UDP:
		err = g.udpExchange(st, t0)
		g.stats.UDP++
	case DropCache:
		delete(g.caches, st.Cache)
	}
	if err != nil {
		return fmt.Errorf("tlsgen: scenario %q: step %d (%v at %v): %w", g.name, i, st.Kind, st.At, err)
	}
	return nil
}

// close writes the packets still queued and returns the counts.
func (g *gen) close() (Stats, error) {
	if err := g.out.close(); err != nil {
		return Stats{}, err
	}
	g.stats.Packets = int64(g.out.written)
	g.stats.Bytes = g.cw.n
	return g.stats, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type gen struct {
	name      string
	opt       Options
	rng       *rand.Rand
	out       *output
	ser       *serializer
	servers   map[string]*serverState
	caches    map[string]*sessionCache
	ports     map[netip.Addr]uint16
	responses map[int][]byte // by size: responses are made once
	kept      int            // bytes in responses
	truthFn   func(Conn) error
	cw        *countingWriter
	conns     int // TLS connections so far
	flows     int
	stats     Stats
}

type serverState struct {
	spec Server
	cfg  *tls.Config // base; every connection uses a Clone
}

// connRec is a connection's truth while it is being worked out.
type connRec struct {
	conn       Conn
	gotSession *connRec // Get returned a session that this connection received
	gotTicket  string   // digest of that session's ticket
	issued     []string
}

func (g *gen) newServer(s Server) (*serverState, error) {
	cert, err := serverCert(s.RSA)
	if err != nil {
		return nil, err
	}
	keys := s.TicketKeys
	if keys == "" {
		keys = s.Name
	}
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             s.MinVersion,
		MaxVersion:             s.MaxVersion,
		CurvePreferences:       s.Curves,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: s.NoTickets,
	}
	cfg.SetSessionTicketKeys(g.ticketKeys(keys))
	return &serverState{spec: s, cfg: cfg}, nil
}

// ticketKeys derives the key set named name from the seed.
func (g *gen) ticketKeys(name string) [][32]byte {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(g.opt.Seed))
	return [][32]byte{sha256.Sum256(append(seed[:], "tlsgen ticket key "+name...))}
}

// port picks the next ephemeral port of a client address.
func (g *gen) port(a netip.Addr) uint16 {
	p, ok := g.ports[a]
	if !ok {
		p = 32768 + uint16(g.rng.IntN(16384))
	}
	p += 1 + uint16(g.rng.IntN(4))
	if p < 32768 {
		p = 32768
	}
	g.ports[a] = p
	return p
}

// newRand returns a deterministic Config.Rand. crypto/tls does not read it for everything
// (key generation uses crypto/rand), so the bytes on the wire still differ between runs.
func (g *gen) newRand() io.Reader {
	var seed [32]byte
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], g.rng.Uint64())
	}
	return rand.NewChaCha8(seed)
}

func (g *gen) cache(name string) *sessionCache {
	c := g.caches[name]
	if c == nil {
		c = newSessionCache()
		g.caches[name] = c
	}
	return c
}

// newFlow makes the pipe and the TCP description of a connection from client to server at t0.
func (g *gen) newFlow(clientIP netip.Addr, server netip.AddrPort, t0 time.Time) (*pipe, *flowSpec, error) {
	if clientIP.Is4() != server.Addr().Is4() {
		return nil, nil, fmt.Errorf("client %v and server %v differ in address family", clientIP, server)
	}
	mss := g.opt.mss(server.Addr().Is6())
	seg := mss
	if g.opt.Damage.OneByte {
		seg = 1
	}
	client := netip.AddrPortFrom(clientIP, g.port(clientIP))
	f := &flowSpec{
		client: client, server: server,
		isn:   [2]uint32{g.rng.Uint32(), g.rng.Uint32()},
		start: t0, mss: mss, seg: seg, half: g.opt.RTT / 2, step: g.opt.Step,
	}
	g.flows++
	return newPipe(t0, g.opt.RTT, g.opt.Step, seg, client, server), f, nil
}

// emit lays out a finished connection's packets and queues them.
func (g *gen) emit(f *flowSpec, p *pipe) error {
	for _, side := range tcpSegments(f, p.events) {
		for i := range side {
			s := &side[i]
			b, err := g.ser.tcp(f, s)
			if err != nil {
				return err
			}
			g.out.push(s.at, b, len(s.payload) > 0)
			if len(s.payload) > 0 {
				if err := g.resend(f, side, i); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resend queues the retransmissions of Damage.RetransmitAltered and Damage.Overlap for
// segment i of one side. They are drawn from the damage generator only when asked for, so
// that other captures stay the same for a seed.
func (g *gen) resend(f *flowSpec, side []segment, i int) error {
	d, o := &g.opt.Damage, g.out
	s := side[i]
	if d.RetransmitAltered > 0 && o.rng.Float64() < d.RetransmitAltered {
		alt := s
		alt.payload = make([]byte, len(s.payload))
		for j, c := range s.payload {
			alt.payload[j] = c ^ byte(1+o.rng.IntN(255))
		}
		b, err := g.ser.tcp(f, &alt)
		if err != nil {
			return err
		}
		o.add(s.at.Add(retransmitDelay), b)
	}
	if d.Overlap > 0 && o.rng.Float64() < d.Overlap {
		// The closest earlier segment of the side that carries data, if it ends where s starts.
		j := i - 1
		for j >= 0 && len(side[j].payload) == 0 && !side[j].syn && !side[j].fin {
			j--
		}
		if j < 0 || len(side[j].payload) == 0 || side[j].seq+uint32(len(side[j].payload)) != s.seq {
			return nil
		}
		prev := side[j].payload
		k := min(len(prev), 1+o.rng.IntN(64))
		ov := s
		ov.seq -= uint32(k)
		ov.payload = append(append(make([]byte, 0, k+len(s.payload)), prev[len(prev)-k:]...), s.payload...)
		b, err := g.ser.tcp(f, &ov)
		if err != nil {
			return err
		}
		o.add(s.at.Add(retransmitDelay), b)
	}
	return nil
}

// run runs the server half in a goroutine and the client half here; if either fails, the pipe
// is torn down so that the other returns too.
func run(p *pipe, client, server func() error) (cerr, serr error) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if serr = server(); serr != nil {
			p.abort()
		}
	}()
	if cerr = client(); cerr != nil {
		p.abort()
	}
	wg.Wait()
	return cerr, serr
}

func (g *gen) tlsConn(idx int, st *Step, t0 time.Time) error {
	srv := g.servers[st.Server]
	p, f, err := g.newFlow(st.Client, srv.spec.Addr, t0)
	if err != nil {
		return err
	}
	rec := &connRec{conn: Conn{
		ID: g.conns + 1, Flow: g.flows, Step: idx, Start: t0,
		Client: f.client, Server: f.server, ServerName: st.Server, Note: st.Note,
	}}

	ccfg := &tls.Config{
		KeyLogWriter:       g.opt.KeyLog,
		ServerName:         st.SNI,
		InsecureSkipVerify: true,
		MaxVersion:         st.MaxVersion,
		CurvePreferences:   st.Curves,
		NextProtos:         []string{"h2", "http/1.1"},
		Time:               func() time.Time { return p.now(sideClient) },
		Rand:               g.newRand(),
	}
	if st.Cache != "" {
		ccfg.ClientSessionCache = &cacheView{cache: g.cache(st.Cache), pipe: p, rec: rec}
	}
	scfg := srv.cfg.Clone()
	scfg.Time = func() time.Time { return p.now(sideServer) }
	scfg.Rand = g.newRand()

	host := st.SNI
	if host == "" {
		host = srv.spec.Addr.Addr().String()
	}
	req := request(host)
	size := st.Response
	if size <= 0 {
		size = g.opt.Response
	}
	resp := g.response(size)

	var cstate, sstate tls.ConnectionState
	cerr, serr := run(p, func() error {
		c := tls.Client(p.end(sideClient), ccfg)
		if err := c.Handshake(); err != nil {
			return fmt.Errorf("client handshake: %w", err)
		}
		cstate = c.ConnectionState()
		if _, err := c.Write(req); err != nil {
			return fmt.Errorf("client write: %w", err)
		}
		// Reading also processes the TLS 1.3 NewSessionTicket: crypto/tls stores it only then.
		if _, err := io.CopyN(io.Discard, c, int64(len(resp))); err != nil {
			return fmt.Errorf("client read: %w", err)
		}
		if err := c.Close(); err != nil {
			return fmt.Errorf("client close: %w", err)
		}
		return nil
	}, func() error {
		s := tls.Server(p.end(sideServer), scfg)
		if err := s.Handshake(); err != nil {
			return fmt.Errorf("server handshake: %w", err)
		}
		sstate = s.ConnectionState()
		if _, err := io.ReadFull(s, make([]byte, len(req))); err != nil {
			return fmt.Errorf("server read: %w", err)
		}
		if _, err := s.Write(resp); err != nil {
			return fmt.Errorf("server write: %w", err)
		}
		if _, err := io.Copy(io.Discard, s); err != nil { // until close_notify
			return fmt.Errorf("server read: %w", err)
		}
		if err := s.Close(); err != nil {
			return fmt.Errorf("server close: %w", err)
		}
		return nil
	})
	if err := errors.Join(cerr, serr); err != nil {
		return err
	}
	if err := rec.settle(cstate, sstate, p.events); err != nil {
		return err
	}
	g.conns++
	if err := g.emit(f, p); err != nil {
		return err
	}
	c := rec.final()
	g.count(&c)
	if err := g.truthFn(c); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	return nil
}

// count adds a connection's truth to the stats.
func (g *gen) count(c *Conn) {
	switch c.Version {
	case "TLS 1.2":
		g.stats.TLS12++
	case "TLS 1.3":
		g.stats.TLS13++
	}
	if c.Resumed {
		g.stats.Resumed++
	}
	switch c.Method {
	case "ticket":
		g.stats.Ticket++
	case "psk":
		g.stats.PSK++
	}
	if c.Rejected {
		g.stats.Rejected++
	}
}

// settle fills the truth from the two stacks and checks it against the wire.
func (r *connRec) settle(cs, ss tls.ConnectionState, events []event) error {
	c := &r.conn
	if cs.DidResume != ss.DidResume {
		return fmt.Errorf("client DidResume=%v but server DidResume=%v", cs.DidResume, ss.DidResume)
	}
	if cs.HelloRetryRequest != ss.HelloRetryRequest {
		return fmt.Errorf("client HelloRetryRequest=%v but server %v", cs.HelloRetryRequest, ss.HelloRetryRequest)
	}
	if cs.Version != ss.Version {
		return fmt.Errorf("client version %x but server %x", cs.Version, ss.Version)
	}
	c.Version = tls.VersionName(cs.Version)
	c.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	c.ALPN = cs.NegotiatedProtocol
	c.Resumed = cs.DidResume
	c.HRR = cs.HelloRetryRequest
	if c.Resumed {
		c.Method = "ticket"
		if cs.Version == tls.VersionTLS13 {
			c.Method = "psk"
		}
	}

	var ch, sh *wireHello
	for _, e := range events {
		if e.data == nil {
			continue
		}
		if e.from == sideClient && ch == nil {
			h, err := parseHello(e.data)
			if err != nil {
				return fmt.Errorf("first client write: %w", err)
			}
			ch = &h
		}
		if e.from == sideServer && sh == nil {
			h, err := parseHello(e.data)
			if err != nil {
				return fmt.Errorf("first server write: %w", err)
			}
			sh = &h
		}
	}
	if ch == nil || sh == nil {
		return errors.New("no hello on the wire")
	}
	if sh.hrr != c.HRR {
		return fmt.Errorf("HelloRetryRequest on the wire=%v, stacks say %v", sh.hrr, c.HRR)
	}
	c.SNI = ch.sni
	var offer []byte
	switch {
	case len(ch.pskIDs) > 0:
		offer = ch.pskIDs[0]
	case len(ch.ticket) > 0:
		offer = ch.ticket
	}
	c.Offered = offer != nil
	if !c.Offered {
		// The cache may have returned a session that crypto/tls then did not use (another
		// version, say).
		r.gotSession, r.gotTicket = nil, ""
	} else {
		if r.gotSession == nil {
			return errors.New("the client offered a session the cache did not give it")
		}
		if d := digest(offer); d != r.gotTicket {
			return fmt.Errorf("offered ticket %s is not the cached one %s", d, r.gotTicket)
		}
		c.Offer = r.gotTicket
	}
	if c.Resumed && !c.Offered {
		return errors.New("resumed without an offer")
	}
	c.Rejected = c.Offered && !c.Resumed
	c.Issued = r.issued
	return nil
}

// final completes the truth of a settled connection. The connection the session came from
// was settled before this one (it ran first), so its Session is known; the link to it is then
// dropped, so that a chain of resumptions does not keep every earlier connection in memory.
func (r *connRec) final() Conn {
	c := r.conn
	c.Session = c.ID
	if from := r.gotSession; from != nil {
		c.TicketFrom = from.conn.ID
		if c.Resumed {
			c.Session = from.conn.Session
		}
	}
	if c.Resumed {
		c.Resumes = c.Session
	}
	r.conn.Session = c.Session
	r.gotSession = nil
	return c
}

// maxKeptResponses bounds the bytes of the responses a run keeps for reuse.
const maxKeptResponses = 16 << 20

// response returns the response of n bytes, made once per size while the kept responses take
// less than maxKeptResponses bytes, else made anew. The stacks only read it.
func (g *gen) response(n int) []byte {
	if r, ok := g.responses[n]; ok {
		return r
	}
	r := response(n)
	if g.kept+len(r) <= maxKeptResponses {
		g.responses[n] = r
		g.kept += len(r)
	}
	return r
}

// request is the client's HTTP/1.1 request, the same over TLS and plain TCP.
func request(host string) []byte {
	return []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: tlsgen\r\nAccept: */*\r\n\r\n")
}

// response is an HTTP/1.1 response of n bytes in all (or just the header if n is smaller).
func response(n int) []byte {
	const filler = "The quick brown fox jumps over the lazy dog. "
	head := func(body int) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", body)
	}
	body := max(n-len(head(0)), 0)
	for body > 0 && len(head(body))+body > n {
		body--
	}
	h := head(body)
	b := make([]byte, len(h)+body)
	copy(b, h)
	// The filler repeated: copy what is there already, doubling each time.
	if body > 0 {
		done := len(h) + copy(b[len(h):], filler)
		for done < len(b) {
			done += copy(b[done:], b[len(h):done])
		}
	}
	return b
}

// plainConn is a non-TLS TCP connection with an HTTP-like exchange.
func (g *gen) plainConn(st *Step, t0 time.Time) error {
	p, f, err := g.newFlow(st.Client, st.Dest, t0)
	if err != nil {
		return err
	}
	host := st.SNI
	if host == "" {
		host = st.Dest.Addr().String()
	}
	req := request(host)
	size := st.Response
	if size <= 0 {
		size = g.opt.Response
	}
	resp := g.response(size)
	cerr, serr := run(p, func() error {
		c := p.end(sideClient)
		if _, err := c.Write(req); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, c, int64(len(resp))); err != nil {
			return err
		}
		return c.Close()
	}, func() error {
		s := p.end(sideServer)
		if _, err := io.ReadFull(s, make([]byte, len(req))); err != nil {
			return err
		}
		if _, err := s.Write(resp); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, s); err != nil {
			return err
		}
		return s.Close()
	})
	if err := errors.Join(cerr, serr); err != nil {
		return err
	}
	return g.emit(f, p)
}

// udpExchange is a DNS query for st.SNI (or example.com) and its answer.
func (g *gen) udpExchange(st *Step, t0 time.Time) error {
	if st.Client.Is4() != st.Dest.Addr().Is4() {
		return fmt.Errorf("client %v and server %v differ in address family", st.Client, st.Dest)
	}
	client := netip.AddrPortFrom(st.Client, g.port(st.Client))
	name := st.SNI
	if name == "" {
		name = "example.com"
	}
	id := uint16(g.rng.Uint32())
	q := dnsMessage(id, name, false)
	b, err := g.ser.udp(client, st.Dest, q)
	if err != nil {
		return err
	}
	g.out.push(t0, b, false)
	a := dnsMessage(id, name, true)
	b, err = g.ser.udp(st.Dest, client, a)
	if err != nil {
		return err
	}
	g.out.push(t0.Add(g.opt.RTT), b, false)
	return nil
}

// dnsMessage builds a DNS query for an A record of name, or the answer 192.0.2.1 to it
// (RFC 1035, Section 4.1).
func dnsMessage(id uint16, name string, answer bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	if answer {
		b = append(b, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0)
	} else {
		b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			continue
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0, 0, 1, 0, 1) // root, type A, class IN
	if answer {
		b = append(b, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1)
	}
	return b
}
