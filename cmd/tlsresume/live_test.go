package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
)

// needLive skips a test that captures live unless it runs as root.
func needLive(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (or CAP_NET_RAW): skipped")
	}
	if testing.Short() {
		t.Skip("live capture skipped in -short mode")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "live.test"},
		DNSNames: []string{"live.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS answers TLS connections on ln with handle, after the handshake,
// until ln is closed.
func serveTLS(t *testing.T, ln net.Listener, handle func(*tls.Conn)) {
	srv := &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, srv)
				if tc.Handshake() == nil {
					handle(tc)
				}
			}()
		}
	}()
}

// liveTruth is what a crypto/tls client said about one connection.
type liveTruth struct {
	port    int
	version string
	resumed bool
}

// tlsTraffic runs a TLS server on 127.0.0.1 and clients that make full
// handshakes and resumptions (TLS 1.2 tickets and TLS 1.3 PSK), and returns
// the port and what each client's ConnectionState said.
func tlsTraffic(t *testing.T, ln net.Listener, rounds int) []liveTruth {
	t.Helper()
	serveTLS(t, ln, func(tc *tls.Conn) {
		buf := make([]byte, 16)
		n, _ := tc.Read(buf)
		tc.Write(buf[:n])
	})
	var truth []liveTruth
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(8)
		for range rounds {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			tc := tls.Client(conn, &tls.Config{ServerName: "live.test", InsecureSkipVerify: true, MaxVersion: max, ClientSessionCache: cache})
			if _, err := tc.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(tc, buf); err != nil {
				t.Fatal(err)
			}
			st := tc.ConnectionState()
			truth = append(truth, liveTruth{conn.LocalAddr().(*net.TCPAddr).Port, tls.VersionName(st.Version), st.DidResume})
			tc.Close()
		}
	}
	return truth
}

// checkLive compares the conn events with the clients' own record.
func checkLive(t *testing.T, out string, truth []liveTruth) {
	t.Helper()
	conns, _ := parseEvents(t, out)
	byPort := map[int]event{}
	for _, c := range conns {
		byPort[c.Client.Port] = c
	}
	for _, tr := range truth {
		c, ok := byPort[tr.port]
		if !ok {
			t.Errorf("client port %d: no conn event", tr.port)
			continue
		}
		want := "full"
		if tr.resumed {
			want = "resumed"
		}
		if c.Handshake != want || c.Version != tr.version {
			t.Errorf("client port %d: %s %s, DidResume says %s %s", tr.port, c.Version, c.Handshake, tr.version, want)
		}
	}
	if len(conns) != len(truth) {
		t.Errorf("%d conn events, %d connections", len(conns), len(truth))
	}
	resumed := 0
	for _, tr := range truth {
		if tr.resumed {
			resumed++
		}
	}
	if resumed < 2 {
		t.Errorf("the clients resumed %d times: the test proves little", resumed)
	}
}

// TestLiveLoopback captures on lo while crypto/tls clients make full and
// resumed handshakes, then stops as on SIGINT: the verdicts match
// DidResume and the summary says interrupted.
func TestLiveLoopback(t *testing.T) {
	needLive(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-i", "lo", "--workers", "2", "tcp", "port", port}, strings.NewReader(""), &out, &errb)
	}()
	time.Sleep(500 * time.Millisecond) // the socket is open
	truth := tlsTraffic(t, ln, 3)
	// Events come out as soon as known, before the end.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), `"type":"conn"`) < len(truth) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(out.String(), `"type":"conn"`); n < len(truth) {
		t.Errorf("%d conn events before the stop, want %d", n, len(truth))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	checkLive(t, out.String(), truth)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum struct {
		Interrupted bool    `json:"interrupted"`
		KernelDrops *uint64 `json:"kernel_drops"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.KernelDrops == nil {
		t.Errorf("summary: interrupted %v, kernel_drops %v", sum.Interrupted, sum.KernelDrops)
	}
}

// liveSetup builds the command and opens a listener on 127.0.0.1 for the
// traffic to capture.
func liveSetup(t *testing.T) (string, net.Listener) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tlsresume")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return bin, ln
}

// TestLiveSIGINT runs the built command and stops it with SIGINT: it ends
// with the sessions and the summary, and exits 0.
func TestLiveSIGINT(t *testing.T) {
	needLive(t)
	bin, ln := liveSetup(t)
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var out, errb syncBuffer
	cmd := exec.Command(bin, "-i", "lo", "tcp port "+port)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	truth := tlsTraffic(t, ln, 2)
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v, stderr:\n%s", err, errb.String())
	}
	checkLive(t, out.String(), truth)
	if !strings.Contains(out.String(), `"interrupted":true`) || !strings.Contains(out.String(), `"type":"session"`) {
		t.Errorf("no interrupted summary or no sessions:\n%s", out.String())
	}
}

// openLo opens a live capture on lo with filter, a tracker and its output
// for readLive.
func openLo(t *testing.T, filter string) (capture.Live, *flows.Tracker, *output) {
	t.Helper()
	src, err := capture.OpenLive(capture.LiveConfig{Interface: "lo", Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	out := newOutput(io.Discard, "ndjson")
	ss := sessions.New(sessions.Config{EmitConn: out.conn, EmitSession: out.session})
	tr := flows.NewTracker(flows.Config{Workers: 2}, ss)
	t.Cleanup(tr.Close)
	return src, tr, out
}

// TestReadLiveStops checks readLive's ways to stop and its clock: it
// ticks once a second with no traffic at all, stops at --duration, within
// a poll of the context's end, and at -c packets; each time it has closed
// the source.
func TestReadLiveStops(t *testing.T) {
	needLive(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name     string
		o        options
		cancel   time.Duration // the context ends after this, if not 0
		traffic  bool          // a TCP connection to port (3 handshake packets at least)
		want     error
		min, max time.Duration // how long readLive runs
		ticks    int           // o.onTick calls, at least
		packets  uint64        // exactly, when not 0
	}{
		{name: "duration idle", o: options{duration: 2500 * time.Millisecond}, min: 2500 * time.Millisecond, max: 3500 * time.Millisecond, ticks: 2},
		{name: "signal idle", o: options{}, cancel: 300 * time.Millisecond, want: context.Canceled, min: 300 * time.Millisecond, max: 800 * time.Millisecond},
		{name: "count", o: options{count: 3}, traffic: true, max: 3 * time.Second, packets: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, tr, _ := openLo(t, "tcp port "+port)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			ticks := 0
			tc.o.onTick = func() { ticks++ }
			if tc.traffic {
				go func() {
					time.Sleep(100 * time.Millisecond)
					if c, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
						c.Write([]byte("three packets and more"))
						c.Close()
					}
				}()
			}
			start := time.Now()
			err := readLive(ctx, src, tr, &tc.o)
			took := time.Since(start)
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Errorf("readLive: %v, want %v", err, tc.want)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("readLive ran %v, want %v to %v", took, tc.min, tc.max)
			}
			if ticks < tc.ticks {
				t.Errorf("%d ticks in %v without traffic, want %d", ticks, took, tc.ticks)
			}
			if n := tr.Counters().Packets; tc.packets != 0 && n != tc.packets {
				t.Errorf("%d packets read, want %d", n, tc.packets)
			}
			if _, err := src.Poll(); err != io.EOF {
				t.Errorf("Poll after readLive: %v, want io.EOF (closed)", err)
			}
		})
	}
}

// TestReadLivePrompt checks that a verdict comes out as soon as the
// kernel hands over the handshake, not at the next tick: connections
// made at five phases of the second each have their conn event within
// 300 ms of the client's ConnectionState.
func TestReadLivePrompt(t *testing.T) {
	needLive(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveTLS(t, ln, func(tc *tls.Conn) { io.Copy(io.Discard, tc) })
	src, tr, out := openLo(t, "tcp port "+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- readLive(ctx, src, tr, &options{}) }()
	time.Sleep(200 * time.Millisecond)
	for i := range 5 {
		if i > 0 {
			time.Sleep(370 * time.Millisecond) // another phase of the 1 s tick
		}
		conn, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		shook := time.Now()
		for out.tls.Load() < int64(i+1) && time.Since(shook) < 2*time.Second {
			time.Sleep(2 * time.Millisecond)
		}
		if d := time.Since(shook); out.tls.Load() < int64(i+1) || d > 300*time.Millisecond {
			t.Errorf("connection %d: %d conn events, the last %v after the handshake, want within 300 ms", i, out.tls.Load(), d)
		}
		tc.Close()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("readLive: %v", err)
	}
}
