package tlscrypt

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/keylog"
	"github.com/tlsresume/tlsresume/tlsparse"
	"golang.org/x/crypto/cryptobyte"
)

// recConn records every byte written through it.
type recConn struct {
	net.Conn
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlscrypt.test"},
		DNSNames: []string{"tlscrypt.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// records splits a byte stream into whole TLS records.
func records(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated record header")
		}
		n := 5 + (int(b[3])<<8 | int(b[4]))
		if len(b) < n {
			t.Fatalf("truncated record")
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// conn runs one connection over loopback TCP and returns the bytes each side wrote.
func conn(t *testing.T, srv, cli *tls.Config) (server, client []byte, state tls.ConnectionState) {
	t.Helper()
	// Loopback TCP, not net.Pipe: the kernel's buffers let both sides
	// write at once (Go's server sends its tickets while the client is
	// still writing its Finished).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc := &recConn{Conn: a}
	cc := &recConn{Conn: b}
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, srv)
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err := s.Write([]byte("hello"))
		io.Copy(io.Discard, s)
		s.Close()
		done <- err
	}()
	c := tls.Client(cc, cli)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	state = c.ConnectionState()
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return sc.bytes(), cc.bytes(), state
}

// firstHandshake returns the body of the first handshake message of a
// plaintext record.
func firstHandshake(t *testing.T, rec []byte, typ byte) []byte {
	t.Helper()
	if rec[0] != 22 || rec[5] != typ {
		t.Fatalf("record %x is not handshake type %d", rec[:6], typ)
	}
	n := int(rec[6])<<16 | int(rec[7])<<8 | int(rec[8])
	return rec[9 : 9+n]
}

// TestGoTLS: crypto/tls makes a full and a resumed TLS 1.3 connection and
// logs its secrets (Config.KeyLogWriter). From the server's raw bytes and
// the logged secrets alone we must find EncryptedExtensions, Certificate,
// CertificateVerify, Finished and a NewSessionTicket whose ticket is the
// identity the client offers on the next connection. Go picks
// TLS_AES_128_GCM_SHA256 where AES is in hardware and ChaCha20-Poly1305
// where not; the subtest "chacha" re-runs the test binary with
// GODEBUG=cpu.aes=off to get the latter.
func TestGoTLS(t *testing.T) {
	want := Suite(0)
	if s := os.Getenv("TLSCRYPT_WANT_SUITE"); s != "" {
		fmt.Sscanf(s, "%x", &want)
	} else {
		t.Run("chacha", func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestGoTLS$", "-test.v")
			cmd.Env = append(os.Environ(), "GODEBUG=cpu.aes=off", "TLSCRYPT_WANT_SUITE=1303")
			out, err := cmd.CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("suite TLS_CHACHA20_POLY1305_SHA256")) {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
	var keyLog bytes.Buffer
	srv := &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MinVersion: tls.VersionTLS13}
	cli := &tls.Config{
		ServerName: "tlscrypt.test", InsecureSkipVerify: true, MinVersion: tls.VersionTLS13,
		ClientSessionCache: tls.NewLRUClientSessionCache(4), KeyLogWriter: &keyLog,
	}
	server, client, state := conn(t, srv, cli)
	suite := Suite(state.CipherSuite)
	t.Logf("suite %v", suite)
	if want != 0 && suite != want {
		t.Fatalf("negotiated %v, want %v", suite, want)
	}

	store := keylog.NewStore(keylog.Options{})
	store.ReadFrom(bytes.NewReader(keyLog.Bytes()))
	chRec := records(t, client)[0]
	ch, err := tlsparse.ParseClientHello(firstHandshake(t, chRec, 1))
	if err != nil {
		t.Fatal(err)
	}
	secrets, ok := store.Lookup([32]byte(ch.Random))
	if !ok {
		t.Fatal("client random not in the key log")
	}
	shts, _ := secrets.Get(keylog.ServerHandshakeTrafficSecret)
	sts, _ := secrets.Get(keylog.ServerTrafficSecret0)

	recs := records(t, server)
	sh, err := tlsparse.ParseServerHello(firstHandshake(t, recs[0], 2))
	if err != nil || Suite(sh.CipherSuite) != suite {
		t.Fatalf("server hello: %v suite %v", err, sh.CipherSuite)
	}
	hs, err := NewDecrypter(suite, shts)
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewDecrypter(suite, sts)
	if err != nil {
		t.Fatal(err)
	}
	var types []byte
	var msgs, tickets [][]byte
	d := hs
	var pending []byte
	for _, rec := range recs[1:] {
		if rec[0] == 20 { // middlebox-compatibility ChangeCipherSpec (RFC 8446, D.4)
			continue
		}
		typ, pt, err := d.Open(rec)
		if err != nil {
			t.Fatalf("record %d under %v keys: %v", len(types), d == hs, err)
		}
		if typ != 22 {
			continue // application data ("hello") or an alert
		}
		pending = append(pending, pt...)
		for len(pending) >= 4 {
			n := int(pending[1])<<16 | int(pending[2])<<8 | int(pending[3])
			if len(pending) < 4+n {
				break
			}
			types = append(types, pending[0])
			msgs = append(msgs, pending[:4+n])
			if pending[0] == 4 {
				tickets = append(tickets, bytes.Clone(pending[4:4+n]))
			}
			if pending[0] == 20 {
				d = app
			}
			pending = pending[4+n:]
		}
	}
	if len(types) < 5 || !bytes.Equal(types[:4], []byte{8, 11, 15, 20}) || types[4] != 4 {
		t.Fatalf("server messages %v, want 8 11 15 20 4...", types)
	}
	nst, err := ParseNewSessionTicket13(tickets[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tickets; first: lifetime %d s, %d-byte ticket", len(tickets), nst.Lifetime, len(nst.Ticket))

	// The resumed connection: the client offers the ticket as its PSK
	// identity (RFC 8446, Section 4.2.11), with an obfuscated age.
	const delay = 50 * time.Millisecond
	time.Sleep(delay)
	_, client2, state2 := conn(t, srv, cli)
	if !state2.DidResume {
		t.Fatal("second connection did not resume")
	}
	ch2, err := tlsparse.ParseClientHello(firstHandshake(t, records(t, client2)[0], 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch2.PSKIdentities) == 0 {
		t.Fatal("no PSK offered")
	}
	found := -1
	for i, tk := range tickets {
		n, err := ParseNewSessionTicket13(tk)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(n.Ticket, ch2.PSKIdentities[0]) {
			found, nst = i, n
		}
	}
	if found < 0 {
		t.Fatalf("offered identity %x is no decrypted ticket", ch2.PSKIdentities[0][:16])
	}
	var obfuscated uint32
	for _, e := range ch2.Extensions {
		if e.Type == tlsparse.ExtPreSharedKey {
			s := cryptobyte.String(e.Data)
			var ids, id cryptobyte.String
			if !s.ReadUint16LengthPrefixed(&ids) || !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&obfuscated) {
				t.Fatal("bad pre_shared_key")
			}
		}
	}
	// RFC 8446, Section 4.2.11.1: obfuscated_ticket_age = age + age_add mod 2^32.
	age := time.Duration(obfuscated-nst.AgeAdd) * time.Millisecond
	t.Logf("ticket age %v after a %v sleep", age, delay)
	// Go's client keeps the ticket's creation time in whole seconds
	// (SessionState.createdAt) and so reports an age up to 1 s above the
	// real one: accept [delay, delay + 1 s + 500 ms].
	if hi := delay + 1500*time.Millisecond; age < delay || age > hi {
		t.Errorf("ticket age %v, want within [%v, %v]", age, delay, hi)
	}
}
