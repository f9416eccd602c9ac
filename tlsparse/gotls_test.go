package tlsparse

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// This file records real handshakes: a crypto/tls client and server talk
// over an in-memory pipe and every Write each side makes is kept. The expected
// values the tests check come from the configurations below and from
// crypto/tls's ConnectionState and session cache, never from this
// package's parsers.

const testServerName = "example.com"

var (
	testClientALPN = []string{"h2", "http/1.1"}
	testServerALPN = []string{"h2"}
)

// goConn is one recorded connection.
type goConn struct {
	name string
	// client and server hold the bytes each side wrote, one slice per
	// Write call (crypto/tls flushes a whole flight in one Write).
	client, server [][]byte
	cstate, sstate tls.ConnectionState
	// issued lists the tickets (TLS 1.2) or PSK identities (TLS 1.3) the
	// client's session cache was given during this connection, as
	// ClientSessionState.ResumptionState reports them.
	issued [][]byte
	// offered is the ticket the client's cache held when the connection
	// started (the last one issued before it), or nil.
	offered []byte
}

func (c *goConn) clientBytes() []byte { return bytes.Join(c.client, nil) }
func (c *goConn) serverBytes() []byte { return bytes.Join(c.server, nil) }
func (c *goConn) tls12() bool         { return c.cstate.Version == tls.VersionTLS12 }

// goHandshakes are the recorded connections, made once per test binary.
type goHandshakes struct {
	tls12Full, tls12Resumed *goConn
	tls13Full, tls13Resumed *goConn
	tls13HRR                *goConn
}

func (h *goHandshakes) all() []*goConn {
	return []*goConn{h.tls12Full, h.tls12Resumed, h.tls13Full, h.tls13Resumed, h.tls13HRR}
}

var (
	goOnce sync.Once
	goHS   *goHandshakes
	goErr  error
)

// recordGoHandshakes returns the recorded connections, making them on first
// use.
func recordGoHandshakes(tb testing.TB) *goHandshakes {
	tb.Helper()
	goOnce.Do(func() { goHS, goErr = makeGoHandshakes() })
	if goErr != nil {
		tb.Fatalf("recording crypto/tls handshakes: %v", goErr)
	}
	return goHS
}

func makeGoHandshakes() (*goHandshakes, error) {
	cert, roots, err := testCertificate()
	if err != nil {
		return nil, err
	}
	serverConfig := func(max uint16) *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   testServerALPN,
			MinVersion:   tls.VersionTLS12,
			MaxVersion:   max,
		}
	}
	clientConfig := func(max uint16, cache tls.ClientSessionCache) *tls.Config {
		return &tls.Config{
			RootCAs:            roots,
			ServerName:         testServerName,
			NextProtos:         testClientALPN,
			MinVersion:         tls.VersionTLS12,
			MaxVersion:         max,
			ClientSessionCache: cache,
		}
	}
	h := &goHandshakes{}

	// TLS 1.2 with tickets: one server config (so one ticket key), one
	// client cache, two connections.
	s12 := serverConfig(tls.VersionTLS12)
	cache12 := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if h.tls12Full, err = recordConn("tls12-full", clientConfig(tls.VersionTLS12, cache12), s12, cache12); err != nil {
		return nil, err
	}
	if h.tls12Resumed, err = recordConn("tls12-resumed", clientConfig(tls.VersionTLS12, cache12), s12, cache12); err != nil {
		return nil, err
	}

	s13 := serverConfig(tls.VersionTLS13)
	cache13 := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if h.tls13Full, err = recordConn("tls13-full", clientConfig(tls.VersionTLS13, cache13), s13, cache13); err != nil {
		return nil, err
	}
	if h.tls13Resumed, err = recordConn("tls13-resumed", clientConfig(tls.VersionTLS13, cache13), s13, cache13); err != nil {
		return nil, err
	}

	// HelloRetryRequest: Go's client sends key shares for its preferred
	// groups (X25519MLKEM768, X25519), none of them P-256, so a server
	// that accepts only P-256 must ask it to retry.
	sHRR := serverConfig(tls.VersionTLS13)
	sHRR.CurvePreferences = []tls.CurveID{tls.CurveP256}
	if h.tls13HRR, err = recordConn("tls13-hrr", clientConfig(tls.VersionTLS13, nil), sHRR, nil); err != nil {
		return nil, err
	}

	// Check that each connection is what its name says, by crypto/tls.
	for _, c := range []struct {
		c       *goConn
		version uint16
		resumed bool
		hrr     bool
	}{
		{h.tls12Full, tls.VersionTLS12, false, false},
		{h.tls12Resumed, tls.VersionTLS12, true, false},
		{h.tls13Full, tls.VersionTLS13, false, false},
		{h.tls13Resumed, tls.VersionTLS13, true, false},
		{h.tls13HRR, tls.VersionTLS13, false, true},
	} {
		cs, ss := c.c.cstate, c.c.sstate
		if cs.Version != c.version || cs.DidResume != c.resumed || cs.HelloRetryRequest != c.hrr ||
			ss.HelloRetryRequest != c.hrr || ss.DidResume != c.resumed {
			return nil, fmt.Errorf("%s: version %#x, resumed %v, hello retry %v/%v; want %#x, %v, %v",
				c.c.name, cs.Version, cs.DidResume, cs.HelloRetryRequest, ss.HelloRetryRequest, c.version, c.resumed, c.hrr)
		}
		if cs.ServerName != testServerName || ss.ServerName != testServerName || cs.NegotiatedProtocol != "h2" {
			return nil, fmt.Errorf("%s: server name %q/%q, alpn %q", c.c.name, cs.ServerName, ss.ServerName, cs.NegotiatedProtocol)
		}
	}
	if h.tls13HRR.cstate.CurveID != tls.CurveP256 {
		return nil, fmt.Errorf("hrr: curve %v, want P-256", h.tls13HRR.cstate.CurveID)
	}
	for _, c := range []*goConn{h.tls12Full, h.tls12Resumed, h.tls13Full, h.tls13Resumed} {
		if len(c.issued) == 0 {
			return nil, fmt.Errorf("%s: client cache was given no ticket", c.name)
		}
	}
	return h, nil
}

// recordConn runs one handshake over an in-memory pipe. The server sends one byte
// of application data so that a TLS 1.3 client reads the NewSessionTicket
// that precedes it; then both sides close the pipe without close_notify,
// so the recordings end with that byte.
func recordConn(name string, ccfg, scfg *tls.Config, cache *recordingCache) (*goConn, error) {
	c := &goConn{name: name}
	if cache != nil {
		c.offered = cache.last()
	}
	before := 0
	if cache != nil {
		before = len(cache.all())
	}
	cp, sp := bufferedPipe()
	crec, srec := &recordingConn{Conn: cp}, &recordingConn{Conn: sp}
	client, server := tls.Client(crec, ccfg), tls.Server(srec, scfg)

	serr := make(chan error, 1)
	go func() {
		defer sp.Close()
		if err := server.Handshake(); err != nil {
			serr <- fmt.Errorf("server: %w", err)
			return
		}
		c.sstate = server.ConnectionState()
		if _, err := server.Write([]byte("x")); err != nil {
			serr <- fmt.Errorf("server write: %w", err)
			return
		}
		// Wait for the client to hang up.
		_, err := io.Copy(io.Discard, server)
		if err != nil {
			serr <- fmt.Errorf("server read: %w", err)
			return
		}
		serr <- nil
	}()

	cerr := func() error {
		defer cp.Close()
		if err := client.Handshake(); err != nil {
			return fmt.Errorf("client: %w", err)
		}
		var b [1]byte
		if _, err := io.ReadFull(client, b[:]); err != nil {
			return fmt.Errorf("client read: %w", err)
		}
		c.cstate = client.ConnectionState()
		return nil
	}()
	if err := errors.Join(cerr, <-serr); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.client, c.server = crec.recorded(), srec.recorded()
	if cache != nil {
		c.issued = cache.all()[before:]
	}
	return c, nil
}

// bufferedPipe is net.Pipe with buffered writes: with net.Pipe, a
// HelloRetryRequest deadlocks, as the server writes its compatibility
// ChangeCipherSpec while the client writes its second ClientHello. A
// Close makes the peer's reads return io.EOF once the buffer is empty.
func bufferedPipe() (net.Conn, net.Conn) {
	a, b := &pipeHalf{}, &pipeHalf{}
	a.cond.L, b.cond.L = &a.mu, &b.mu
	return &pipeEnd{r: a, w: b}, &pipeEnd{r: b, w: a}
}

type pipeHalf struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	closed bool
}

type pipeEnd struct{ r, w *pipeHalf }

func (p *pipeEnd) Read(b []byte) (int, error) {
	h := p.r
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.buf) == 0 && !h.closed {
		h.cond.Wait()
	}
	if len(h.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, h.buf)
	h.buf = h.buf[n:]
	return n, nil
}

func (p *pipeEnd) Write(b []byte) (int, error) {
	h := p.w
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, io.ErrClosedPipe
	}
	h.buf = append(h.buf, b...)
	h.cond.Broadcast()
	return len(b), nil
}

func (p *pipeEnd) Close() error {
	for _, h := range []*pipeHalf{p.r, p.w} {
		h.mu.Lock()
		h.closed = true
		h.cond.Broadcast()
		h.mu.Unlock()
	}
	return nil
}

func (p *pipeEnd) SetDeadline(time.Time) error      { return nil }
func (p *pipeEnd) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeEnd) SetWriteDeadline(time.Time) error { return nil }
func (p *pipeEnd) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *pipeEnd) RemoteAddr() net.Addr             { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// recordingConn keeps a copy of every Write.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.mu.Lock()
		c.writes = append(c.writes, bytes.Clone(p[:n]))
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordingConn) recorded() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// recordingCache records the ticket of every session the client stores.
type recordingCache struct {
	tls.ClientSessionCache
	mu      sync.Mutex
	tickets [][]byte
}

func (c *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		if ticket, _, err := cs.ResumptionState(); err == nil {
			c.mu.Lock()
			c.tickets = append(c.tickets, bytes.Clone(ticket))
			c.mu.Unlock()
		}
	}
	c.ClientSessionCache.Put(key, cs)
}

func (c *recordingCache) all() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tickets[:len(c.tickets):len(c.tickets)]
}

func (c *recordingCache) last() []byte {
	all := c.all()
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// testCertificate makes a self-signed ECDSA certificate for testServerName
// and a pool that trusts it.
func testCertificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: testServerName},
		DNSNames:              []string{testServerName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}

// The helpers below split recorded bytes with plain index arithmetic, on
// purpose independent of Framer and Assembler, so that they can serve as
// the expected values for those.

// rawRecord is one record as splitRecords finds it.
type rawRecord struct {
	typ     uint8
	version uint16
	frag    []byte
}

// splitRecords splits a stream of TLS records; it fails on a partial one.
func splitRecords(tb testing.TB, b []byte) []rawRecord {
	tb.Helper()
	var rs []rawRecord
	for len(b) > 0 {
		if len(b) < 5 {
			tb.Fatalf("splitRecords: %d trailing bytes", len(b))
		}
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			tb.Fatalf("splitRecords: record of %d bytes, %d left", n, len(b)-5)
		}
		rs = append(rs, rawRecord{typ: b[0], version: uint16(b[1])<<8 | uint16(b[2]), frag: b[5 : 5+n]})
		b = b[5+n:]
	}
	return rs
}

// plaintextHandshake returns the concatenated fragments of the plaintext
// handshake records of one direction. In TLS 1.2 handshake records after
// ChangeCipherSpec are encrypted; in TLS 1.3 encrypted ones are
// application_data records, and a plaintext ClientHello may follow the
// compatibility ChangeCipherSpec.
func plaintextHandshake(tb testing.TB, stream []byte, tls12 bool) []byte {
	tb.Helper()
	var hs []byte
	for _, r := range splitRecords(tb, stream) {
		if r.typ == 20 && tls12 {
			break
		}
		if r.typ == 22 {
			hs = append(hs, r.frag...)
		}
	}
	return hs
}

// rawMsg is one handshake message: type and body without the header.
type rawMsg struct {
	typ  HandshakeType
	body []byte
}

// splitMessages splits handshake bytes into messages.
func splitMessages(tb testing.TB, b []byte) []rawMsg {
	tb.Helper()
	var ms []rawMsg
	for len(b) > 0 {
		if len(b) < 4 {
			tb.Fatalf("splitMessages: %d trailing bytes", len(b))
		}
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if len(b) < 4+n {
			tb.Fatalf("splitMessages: message of %d bytes, %d left", n, len(b)-4)
		}
		ms = append(ms, rawMsg{typ: HandshakeType(b[0]), body: b[4 : 4+n]})
		b = b[4+n:]
	}
	return ms
}

// goMessages returns the plaintext handshake messages one side of c wrote.
func goMessages(tb testing.TB, c *goConn, server bool) []rawMsg {
	tb.Helper()
	stream := c.clientBytes()
	if server {
		stream = c.serverBytes()
	}
	return splitMessages(tb, plaintextHandshake(tb, stream, c.tls12()))
}

// goMessagesOfType returns the bodies of the messages of type t.
func goMessagesOfType(tb testing.TB, c *goConn, server bool, t HandshakeType) [][]byte {
	tb.Helper()
	var bodies [][]byte
	for _, m := range goMessages(tb, c, server) {
		if m.typ == t {
			bodies = append(bodies, m.body)
		}
	}
	if len(bodies) == 0 {
		tb.Fatalf("%s: no %v from the %s", c.name, t, map[bool]string{false: "client", true: "server"}[server])
	}
	return bodies
}

// withHeader prefixes a handshake body with its 4-byte header.
func withHeader(t HandshakeType, body []byte) []byte {
	n := len(body)
	return append([]byte{byte(t), byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// asRecord wraps a fragment in a record header.
func asRecord(t RecordType, v Version, frag []byte) []byte {
	n := len(frag)
	return append([]byte{byte(t), byte(v >> 8), byte(v), byte(n >> 8), byte(n)}, frag...)
}

// TestGoHandshakes checks the recordings themselves: each connection is
// what its name says (checked by makeGoHandshakes) and the flights are
// what the other tests assume.
func TestGoHandshakes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range h.all() {
		t.Run(c.name, func(t *testing.T) {
			for _, side := range [][][]byte{c.client, c.server} {
				if len(side) == 0 {
					t.Fatal("a side wrote nothing")
				}
				splitRecords(t, bytes.Join(side, nil)) // whole records only
			}
		})
	}
	// Go flushes a flight in one Write: the TLS 1.2 server's first flight
	// holds several records, which the coalescing tests rely on.
	if n := len(splitRecords(t, h.tls12Full.server[0])); n < 4 {
		t.Errorf("first TLS 1.2 server write holds %d records, want at least 4", n)
	}
}
