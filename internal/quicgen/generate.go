package quicgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlogwriter"
)

// ALPN is the application protocol every client and server offers: HTTP/0.9 over QUIC as
// the QUIC interop runner uses it. The client sends "GET /index.html\r\n" on one stream and
// the server answers with ResponseSize bytes.
const ALPN = "hq-interop"

// ResponseSize is the size of the server's answer.
const ResponseSize = 1500

const (
	connTimeout = 10 * time.Second
	// ticketWait bounds the wait for the session ticket after the response was read:
	// quic-go sends the NewSessionTicket with HANDSHAKE_DONE, which may come in a packet
	// after the stream data.
	ticketWait = 2 * time.Second
)

// WriteFiles runs [Generate] with the capture written to pcapPath, the truth (see
// [WriteTruth]) to the same path with ".tsv" for its extension, and the client key log to
// the same path with ".keylog".
func WriteFiles(ctx context.Context, pcapPath string, sc Scenario, opt Options) ([]Conn, error) {
	base := strings.TrimSuffix(pcapPath, ".pcap")
	var pcapBuf, keylog bytes.Buffer
	conns, err := Generate(ctx, &pcapBuf, &keylog, sc, opt)
	if err != nil {
		return nil, err
	}
	var truth bytes.Buffer
	if err := WriteTruth(&truth, conns); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{pcapPath, pcapBuf.Bytes()}, {base + ".tsv", truth.Bytes()}, {base + ".keylog", keylog.Bytes()}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("quicgen: %w", err)
		}
	}
	return conns, nil
}

// Generate runs the scenario's connections between quic-go clients and servers, one at a
// time in the order of the steps, writes every datagram they sent as a pcap to w and the
// clients' key log lines (NSS key log format) to keylog (nil: not kept), and returns the
// truth about every connection in order.
func Generate(ctx context.Context, w io.Writer, keylog io.Writer, sc Scenario, opt Options) ([]Conn, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	capt, err := newCapture(w)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &gen{
		sc: &sc, opt: opt,
		rng:     rand.New(rand.NewPCG(uint64(opt.Seed), 0x7175696367656e)), // "quicgen"
		net:     newNetwork(),
		servers: make(map[string]*server),
		caches:  make(map[string]tls.ClientSessionCache),
		stored:  &storeLog{by: make(map[*tls.ClientSessionState]int)},
		session: make(map[int]int),
		ports:   make(map[netip.Addr]uint16),
		capt:    capt,
		keylog:  keylog,
		at:      opt.Start,
	}
	defer g.closeServers()
	for i := range sc.Servers {
		if err := g.startServer(ctx, &sc.Servers[i]); err != nil {
			return nil, err
		}
	}
	var conns []Conn
	for i := range sc.Steps {
		st := &sc.Steps[i]
		if st.RotateKeys != "" {
			g.servers[st.Server].tls.SetSessionTicketKeys(g.ticketKeys(st.RotateKeys))
			continue
		}
		c, err := g.conn(ctx, i, st, len(conns)+1)
		if err != nil {
			return nil, fmt.Errorf("quicgen: scenario %q: step %d: %w", sc.Name, i, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

type gen struct {
	// past holds the client addresses of the connections already written:
	// a server may still send to one (a late retransmission or close)
	// while a later connection runs.
	past    map[netip.AddrPort]bool
	sc      *Scenario
	opt     Options
	rng     *rand.Rand
	net     *network
	servers map[string]*server
	caches  map[string]tls.ClientSessionCache
	// stored names the connection whose client stored each session state in a cache (its
	// ticket came on that connection); session is each connection's session, its own ID
	// after a full handshake, the origin's when resumed.
	stored  *storeLog
	session map[int]int
	ports   map[netip.Addr]uint16
	capt    *capture
	keylog  io.Writer
	at      time.Time // timestamp of the next datagram
	first   bool      // a datagram was written
}

// server is one running quic-go server. Its accept loop runs in its own goroutine and each
// connection in another; what a connection saw is handed to the generator through the
// channel registered for the client's address before it dials.
type server struct {
	spec *Server
	tls  *tls.Config
	pc   *packetConn
	tr   *quic.Transport
	done chan struct{}

	mu      sync.Mutex
	waiting map[netip.AddrPort]chan serverResult
}

type serverResult struct {
	state quic.ConnectionState
	err   error
}

func (g *gen) startServer(ctx context.Context, spec *Server) error {
	cert, err := serverCert()
	if err != nil {
		return err
	}
	keys := spec.TicketKeys
	if keys == "" {
		keys = spec.Name
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{ALPN}}
	tc.SetSessionTicketKeys(g.ticketKeys(keys))
	pc, err := g.net.listen(spec.Addr)
	if err != nil {
		return fmt.Errorf("quicgen: server %q: %w", spec.Name, err)
	}
	tr := &quic.Transport{Conn: pc}
	if spec.Retry {
		tr.VerifySourceAddress = func(net.Addr) bool { return true }
	}
	qc := &quic.Config{
		Versions:                spec.Versions,
		Allow0RTT:               spec.Allow0RTT,
		HandshakeIdleTimeout:    connTimeout / 2,
		MaxIdleTimeout:          connTimeout,
		DisablePathMTUDiscovery: true,
	}
	ln, err := tr.ListenEarly(tc, qc)
	if err != nil {
		pc.Close()
		return fmt.Errorf("quicgen: server %q: %w", spec.Name, err)
	}
	s := &server{spec: spec, tls: tc, pc: pc, tr: tr, done: make(chan struct{}),
		waiting: make(map[netip.AddrPort]chan serverResult)}
	g.servers[spec.Name] = s
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go s.serve(ctx, c)
		}
	}()
	return nil
}

// expect registers the channel that receives the result of the connection from client.
func (s *server) expect(client netip.AddrPort) chan serverResult {
	ch := make(chan serverResult, 1)
	s.mu.Lock()
	s.waiting[client] = ch
	s.mu.Unlock()
	return ch
}

func (s *server) serve(ctx context.Context, c *quic.Conn) {
	res := serverResult{err: serveConn(ctx, c)}
	res.state = c.ConnectionState()
	ap := c.RemoteAddr().(*net.UDPAddr).AddrPort()
	s.mu.Lock()
	ch := s.waiting[ap]
	delete(s.waiting, ap)
	s.mu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// serveConn answers one request and waits until the client closes the connection.
func serveConn(ctx context.Context, c *quic.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, connTimeout)
	defer cancel()
	str, err := c.AcceptStream(ctx)
	if err != nil {
		return fmt.Errorf("server accept stream: %w", err)
	}
	if _, err := io.ReadAll(io.LimitReader(str, 1<<16)); err != nil {
		return fmt.Errorf("server read: %w", err)
	}
	if _, err := str.Write(bytes.Repeat([]byte{'q'}, ResponseSize)); err != nil {
		return fmt.Errorf("server write: %w", err)
	}
	if err := str.Close(); err != nil {
		return fmt.Errorf("server close stream: %w", err)
	}
	select {
	case <-c.HandshakeComplete():
	case <-ctx.Done():
		return fmt.Errorf("server handshake: %w", ctx.Err())
	}
	select {
	case <-c.Context().Done(): // the client's CONNECTION_CLOSE
	case <-ctx.Done():
		return fmt.Errorf("server wait for close: %w", ctx.Err())
	}
	return nil
}

func (g *gen) closeServers() {
	for _, s := range g.servers {
		s.tr.Close()
		s.pc.Close()
		<-s.done
	}
}

// ticketKeys derives the session ticket key set named name from the seed.
func (g *gen) ticketKeys(name string) [][32]byte {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(g.opt.Seed))
	return [][32]byte{sha256.Sum256(append(seed[:], "quicgen ticket key "+name...))}
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

var (
	defaultClient4 = netip.MustParseAddr("192.0.2.10")
	defaultClient6 = netip.MustParseAddr("2001:db8::10")
)

// conn runs one connection and writes its datagrams.
func (g *gen) conn(ctx context.Context, idx int, st *Step, id int) (Conn, error) {
	srv := g.servers[st.Server]
	ca := st.Client
	if !ca.IsValid() {
		ca = defaultClient4
		if srv.spec.Addr.Addr().Is6() {
			ca = defaultClient6
		}
	}
	client := netip.AddrPortFrom(ca, g.port(ca))
	c := Conn{ID: id, Step: idx, Client: client, Server: srv.spec.Addr,
		ServerName: srv.spec.Name, SNI: st.SNI, Note: st.Note}

	pc, err := g.net.listen(client)
	if err != nil {
		return Conn{}, err
	}
	tr := &quic.Transport{Conn: pc}
	trace := &clientTrace{}
	kl := &keyLog{w: g.keylog}
	tc := &tls.Config{
		ServerName:         st.SNI,
		InsecureSkipVerify: true,
		NextProtos:         []string{ALPN},
		CurvePreferences:   st.Curves,
		KeyLogWriter:       kl,
	}
	var cv *cacheView
	if st.Cache != "" {
		cache := g.caches[st.Cache]
		if cache == nil {
			cache = tls.NewLRUClientSessionCache(16)
			g.caches[st.Cache] = cache
		}
		cv = &cacheView{cache: cache, put: make(chan struct{}, 1), id: id, stored: g.stored}
		tc.ClientSessionCache = cv
	}
	qc := &quic.Config{
		Versions:                st.Versions,
		HandshakeIdleTimeout:    connTimeout / 2,
		MaxIdleTimeout:          connTimeout,
		DisablePathMTUDiscovery: true,
		Tracer: func(context.Context, bool, quic.ConnectionID) qlogwriter.Trace {
			return trace
		},
	}
	result := srv.expect(client)
	cs, cerr := dial(ctx, tr, srv.spec.Addr, tc, qc, st.Early, cv)
	var sres serverResult
	if cerr == nil {
		select {
		case sres = <-result:
		case <-time.After(connTimeout):
			sres.err = errors.New("server: no result")
		}
	}
	tr.Close()
	pc.Close()
	sent := g.net.take()
	if err := errors.Join(cerr, sres.err); err != nil {
		return Conn{}, err
	}
	// A server's late datagram to an earlier connection's client is not
	// this connection's; it is left out of the capture (that client's
	// port is closed).
	kept := sent[:0]
	for _, d := range sent {
		if d.src != client && d.dst != client && g.past[d.dst] {
			continue
		}
		kept = append(kept, d)
	}
	sent = kept
	if g.past == nil {
		g.past = map[netip.AddrPort]bool{}
	}
	g.past[client] = true
	ss := sres.state

	// The truth from the stacks, both ends agreeing.
	if cs.Version != ss.Version || cs.TLS.DidResume != ss.TLS.DidResume || cs.Used0RTT != ss.Used0RTT ||
		cs.TLS.CipherSuite != ss.TLS.CipherSuite || cs.TLS.NegotiatedProtocol != ss.TLS.NegotiatedProtocol {
		return Conn{}, fmt.Errorf("client and server disagree: client version %v resumed %v 0-RTT %v, server version %v resumed %v 0-RTT %v",
			cs.Version, cs.TLS.DidResume, cs.Used0RTT, ss.Version, ss.TLS.DidResume, ss.Used0RTT)
	}
	c.Version = cs.Version
	c.Resumed = cs.TLS.DidResume
	c.Used0RTT = cs.Used0RTT
	c.Cipher = tls.CipherSuiteName(cs.TLS.CipherSuite)
	c.ALPN = cs.TLS.NegotiatedProtocol
	c.Offered = cv != nil && cv.offered
	if c.Resumed && !c.Offered {
		return Conn{}, errors.New("resumed without a session from the cache")
	}
	g.session[id] = id
	if c.Offered {
		cv.mu.Lock()
		got := cv.got
		cv.mu.Unlock()
		from := g.stored.from(got)
		if from == 0 {
			return Conn{}, errors.New("the cache gave a session no connection stored")
		}
		c.TicketFrom = from
		if c.Resumed {
			c.Resumes = g.session[from]
			g.session[id] = c.Resumes
		}
	}
	trace.mu.Lock()
	c.DCID = hexID(trace.odcid)
	c.ZeroRTTPackets = trace.zeroRTT
	c.Retry = trace.retry
	c.HelloPackets, c.HelloBytes = trace.helloPackets, int(trace.helloEnd)
	trace.mu.Unlock()
	kl.mu.Lock()
	c.ClientRandom, c.KeyLogLabels = kl.random, kl.labels
	kl.mu.Unlock()
	if c.Used0RTT && c.ZeroRTTPackets == 0 {
		return Conn{}, errors.New("0-RTT used but the client sent no 0-RTT packet")
	}

	// The wire, checked against the truth.
	var sides [2][]int // indexes into sent, by side
	retryOnWire := false
	for i, d := range sent {
		switch {
		case d.src == client && d.dst == srv.spec.Addr:
			sides[ClientSide] = append(sides[ClientSide], i)
		case d.src == srv.spec.Addr && d.dst == client:
			sides[ServerSide] = append(sides[ServerSide], i)
			if h, ok := ParseLongHeader(d.data); ok && h.Type == Retry {
				retryOnWire = true
			}
		default:
			return Conn{}, fmt.Errorf("stray datagram %v -> %v", d.src, d.dst)
		}
	}
	c.ClientDatagrams, c.ServerDatagrams = len(sides[ClientSide]), len(sides[ServerSide])
	if len(sent) == 0 || sent[0].src != client {
		return Conn{}, errors.New("the first datagram is not the client's")
	}
	h, ok := ParseLongHeader(sent[0].data)
	if !ok || h.Type != Initial {
		return Conn{}, errors.New("the first datagram does not start with an Initial")
	}
	if hexID(h.DCID) != c.DCID {
		return Conn{}, fmt.Errorf("first Initial DCID %x on the wire, %s in the client's trace", h.DCID, c.DCID)
	}
	c.SCID = hexID(h.SCID)
	if retryOnWire != c.Retry {
		return Conn{}, fmt.Errorf("Retry on the wire %v, accepted by the client %v", retryOnWire, c.Retry)
	}

	order, err := damage(sides, &st.Damage)
	if err != nil {
		return Conn{}, err
	}
	if g.first {
		g.at = g.at.Add(g.opt.Gap)
	}
	c.Start = g.at
	for j, i := range order {
		if j > 0 {
			g.at = g.at.Add(g.opt.Step)
		}
		if err := g.capt.write(g.at, sent[i]); err != nil {
			return Conn{}, err
		}
		g.first = true
	}
	return c, nil
}

// dial runs the client half: one request, its response, the ticket if a cache waits for
// one, and a clean close.
func dial(ctx context.Context, tr *quic.Transport, to netip.AddrPort, tc *tls.Config, qc *quic.Config, early bool, cv *cacheView) (quic.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, connTimeout)
	defer cancel()
	addr := net.UDPAddrFromAddrPort(to)
	var conn *quic.Conn
	var err error
	if early {
		conn, err = tr.DialEarly(ctx, addr, tc, qc)
	} else {
		conn, err = tr.Dial(ctx, addr, tc, qc)
	}
	if err != nil {
		return quic.ConnectionState{}, fmt.Errorf("client dial: %w", err)
	}
	defer conn.CloseWithError(0, "")
	err = exchange(ctx, conn)
	if errors.Is(err, quic.Err0RTTRejected) {
		// The 0-RTT data is lost: send the request again, in 1-RTT.
		if conn, err = conn.NextConnection(ctx); err != nil {
			return quic.ConnectionState{}, fmt.Errorf("client after 0-RTT rejection: %w", err)
		}
		err = exchange(ctx, conn)
	}
	if err != nil {
		return quic.ConnectionState{}, err
	}
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		return quic.ConnectionState{}, fmt.Errorf("client handshake: %w", ctx.Err())
	}
	if cv != nil {
		select {
		case <-cv.put:
		case <-time.After(ticketWait):
		}
	}
	cs := conn.ConnectionState()
	if err := conn.CloseWithError(0, ""); err != nil {
		return quic.ConnectionState{}, fmt.Errorf("client close: %w", err)
	}
	return cs, nil
}

var request = []byte("GET /index.html\r\n")

func exchange(ctx context.Context, conn *quic.Conn) error {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("client open stream: %w", err)
	}
	if _, err := str.Write(request); err != nil {
		return fmt.Errorf("client write: %w", err)
	}
	if err := str.Close(); err != nil {
		return fmt.Errorf("client close stream: %w", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(str, 1<<20))
	if err != nil {
		return fmt.Errorf("client read: %w", err)
	}
	if n != ResponseSize {
		return fmt.Errorf("client read %d bytes, want %d", n, ResponseSize)
	}
	return nil
}

// damage returns the indexes of the datagrams to write, in the order to write them.
func damage(sides [2][]int, d *Damage) ([]int, error) {
	pick := func(p Pick) (int, error) {
		if p.Side != ClientSide && p.Side != ServerSide || p.N < 0 || p.N >= len(sides[p.Side]) {
			return 0, fmt.Errorf("damage: no datagram %d from the %v (it sent %d)", p.N, p.Side, len(sides[p.Side&1]))
		}
		return sides[p.Side][p.N], nil
	}
	n := len(sides[0]) + len(sides[1])
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if d.empty() {
		return order, nil
	}
	for _, s := range d.Swap {
		a, err := pick(s[0])
		if err != nil {
			return nil, err
		}
		b, err := pick(s[1])
		if err != nil {
			return nil, err
		}
		order[a], order[b] = order[b], order[a]
	}
	drop := make(map[int]bool)
	dup := make(map[int]bool)
	for _, p := range d.Drop {
		i, err := pick(p)
		if err != nil {
			return nil, err
		}
		drop[i] = true
	}
	for _, p := range d.Duplicate {
		i, err := pick(p)
		if err != nil {
			return nil, err
		}
		dup[i] = true
	}
	out := make([]int, 0, n+len(dup))
	for _, i := range order {
		if drop[i] {
			continue
		}
		out = append(out, i)
		if dup[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

// cacheView is one connection's tls.ClientSessionCache: it records whether crypto/tls got a
// session to offer and signals each stored one.
type cacheView struct {
	cache   tls.ClientSessionCache
	put     chan struct{}
	id      int        // the connection's ID
	mu      sync.Mutex // guards offered and got
	stored  *storeLog
	offered bool
	got     *tls.ClientSessionState // the last session Get gave
}

func (v *cacheView) Get(key string) (*tls.ClientSessionState, bool) {
	cs, ok := v.cache.Get(key)
	if ok && cs != nil {
		v.mu.Lock()
		v.offered, v.got = true, cs
		v.mu.Unlock()
	}
	return cs, ok
}

func (v *cacheView) Put(key string, cs *tls.ClientSessionState) {
	v.cache.Put(key, cs)
	if cs != nil {
		v.stored.put(cs, v.id)
		select {
		case v.put <- struct{}{}:
		default:
		}
	}
}

// storeLog records which connection's client stored each session state in a cache.
type storeLog struct {
	mu sync.Mutex
	by map[*tls.ClientSessionState]int
}

func (l *storeLog) put(cs *tls.ClientSessionState, id int) {
	l.mu.Lock()
	l.by[cs] = id
	l.mu.Unlock()
}

func (l *storeLog) from(cs *tls.ClientSessionState) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[cs]
}

// keyLog is one connection's tls.Config.KeyLogWriter: it passes the lines on and keeps
// their labels and client random.
type keyLog struct {
	w      io.Writer
	mu     sync.Mutex
	random string
	labels []string
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for line := range strings.Lines(string(p)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		k.labels = append(k.labels, f[0])
		k.random = f[1]
	}
	if k.w == nil {
		return len(p), nil
	}
	return k.w.Write(p)
}
