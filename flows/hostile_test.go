package flows_test

import (
	"bytes"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
	"github.com/tlsresume/tlsresume/verdict"
)

// TestUnreadableClientDirection: when the client's direction becomes
// unreadable (a kept message announced over the bound, or garbage after
// the ClientHello), the server's direction still holds the ServerHello,
// and with it the verdict. FuzzTrackerSegments found the first case: a
// lossy copy that lost the bad bytes reported the resumption the intact
// copy did not.
func TestUnreadableClientDirection(t *testing.T) {
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls13-psk.pcap"), 8)[1]
	ref, _ := track(t, inOrder(fl, 1460), flows.Config{})
	if len(ref) != 1 || ref[0].Handshake != verdict.Resumed {
		t.Fatalf("intact: %s", describe(ref))
	}
	// 16 MB ClientHello announced in a handshake record of 4 bytes.
	oversized := []byte{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff}
	// A record of unknown content type 0x55.
	garbage := []byte{0x55, 0x03, 0x03, 0x00, 0x01, 0x00}
	for _, tc := range []struct {
		name   string
		client func(ch []byte) []byte
	}{
		{"message over the bound before the ClientHello", func(ch []byte) []byte { return slices.Concat(oversized, ch) }},
		{"message over the bound after the ClientHello", func(ch []byte) []byte { return slices.Concat(ch, oversized) }},
		{"garbage record after the ClientHello", func(ch []byte) []byte { return slices.Concat(ch, garbage) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := slices.Clone(fl)
			bad[0] = flight{server: false, data: tc.client(fl[0].data)}
			got, count := track(t, inOrder(bad, 1460), flows.Config{})
			if len(got) != 1 || got[0].Handshake != verdict.Resumed || got[0].Resumption != verdict.ByPSK {
				t.Errorf("got %s, the server's ServerHello selects a PSK (counters %+v)", describe(got), count)
			}
		})
	}
}

// Memory per connection. The hostile shapes of internal/hostile
// (scripts/hostile.sh) run these at scale; here they run small, measured
// as live heap after a GC with the Tracker still holding everything.

// maxFinishedConn bounds a connection whose verdict is known, with its
// session: measured 1196 bytes (the front's flow entry ~0.25 KB, the
// session ~0.9 KB: keys, members, the issuer record; the worker forgets
// the connection at its verdict). The goal is 1 KB and is not met
// (README, Limits); this bound catches growth.
const maxFinishedConn = 1280

// liveHeap returns the bytes in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// feedConns feeds n connections, each built by segs, to a new Tracker,
// waits until the workers have read them all and returns the heap in use
// per connection, with the Tracker still alive.
func feedConns(t *testing.T, n int, segs func(i int) []segment) (perConn float64, count flows.Counters) {
	t.Helper()
	var m marker
	tr := flows.NewTracker(flows.Config{}, sessions.New(sessions.Config{EmitConn: m.emit(nil)}))
	z := newPacketizer()
	before := liveHeap()
	ts := segStart
	feed := func(ip net.IP, port layers.TCPPort, segs []segment) {
		for _, s := range segs {
			data := z.packetFor(t, ip, port, s)
			ts = ts.Add(10 * time.Microsecond)
			tr.Packet(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet, 0)
		}
	}
	for i := range n {
		feed(net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}, layers.TCPPort(10000+i%50000), segs(i))
	}
	m.wait(t, tr, feed)
	after := liveHeap()
	count = tr.Counters()
	tr.Close()
	runtime.KeepAlive(tr)
	return float64(after-before) / float64(n), count
}

// marker is a last, complete TLS connection fed after the others: verdicts
// are handed on in capture order, so once it has its verdict every packet
// before it has been read.
type marker struct{ seen atomic.Bool }

var markerIP = netip.AddrFrom4([4]byte{11, 0, 0, 1})

// emit wraps an Emit function to notice the marker's verdict.
func (m *marker) emit(next func(*sessions.Conn)) func(*sessions.Conn) {
	return func(c *sessions.Conn) {
		if c.Client.IP == markerIP {
			m.seen.Store(true)
		}
		if next != nil {
			next(c)
		}
	}
}

// wait feeds the marker and waits for its verdict.
func (m *marker) wait(t *testing.T, tr *flows.Tracker, feed func(net.IP, layers.TCPPort, []segment)) {
	t.Helper()
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls13-psk.pcap"), 8)[0]
	feed(markerIP.AsSlice(), 1, inOrder(fl, 1460))
	tr.Sync()
	for deadline := time.Now().Add(10 * time.Second); !m.seen.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the marker connection got no verdict")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMemoryHalfOpenFlows: flows that only sent a SYN (a SYN flood) must
// cost little: 200000 of them (the default MaxFlows) under 200 MB.
func TestMemoryHalfOpenFlows(t *testing.T) {
	per, _ := feedConns(t, 10000, func(int) []segment { return []segment{{syn: true}} })
	t.Logf("%.0f bytes per half-open flow", per)
	if per > 1024 {
		t.Errorf("%.0f bytes per half-open flow, want at most 1024", per)
	}
}

// TestMemoryFinishedConns: connections whose verdict is known (a full TLS
// 1.2 handshake that issues a ticket, no FIN) must cost little once read:
// the flow map entry and the session.
func TestMemoryFinishedConns(t *testing.T) {
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls12-ticket.pcap"), 4)[0]
	segs := inOrder(fl, 1460)
	per, count := feedConns(t, 4000, func(int) []segment { return segs })
	t.Logf("%.0f bytes per finished connection (with its session); counters %+v", per, count)
	if per > maxFinishedConn {
		t.Errorf("%.0f bytes per finished connection, want at most %d", per, maxFinishedConn)
	}
}

// TestMemoryStalledHellos: connections that stop in the middle of a large
// ClientHello hold its bytes until they end; across connections the
// bytes held must be bounded (here 500 connections, 48 KiB each, under
// 16 MB).
func TestMemoryStalledHellos(t *testing.T) {
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls12-ticket.pcap"), 1)[0]
	// A ClientHello of 60 KiB: the real one with a padding extension
	// (RFC 7685) in a message that spans four records.
	ch := bigClientHello(t, fl[0].data, 60<<10)
	stalled := inOrder(connFlights{{false, ch[:48<<10]}}, 1460)
	per, _ := feedConns(t, 500, func(int) []segment { return stalled })
	total := per * 500
	t.Logf("%.0f bytes per stalled connection, %.0f MB in all", per, total/(1<<20))
	if total > 16<<20 {
		t.Errorf("%.0f MB held by 500 stalled ClientHellos, want at most 16", total/(1<<20))
	}
}

// bigClientHello returns the ClientHello of rec (one record holding one
// ClientHello) grown to size bytes by a padding extension, in records of
// at most 15 KiB.
func bigClientHello(t *testing.T, rec []byte, size int) []byte {
	t.Helper()
	if rec[0] != 22 || rec[5] != 1 {
		t.Fatal("not a ClientHello record")
	}
	body := rec[9 : 5+int(rec[3])<<8|int(rec[4])]
	// The extensions block is last: grow its length and append padding (21).
	pad := size - 4 - len(body) - 4
	extOff := 2 + 32
	extOff += 1 + int(body[extOff])
	extOff += 2 + int(body[extOff])<<8 | int(body[extOff+1])
	extOff += 1 + int(body[extOff])
	extLen := int(body[extOff])<<8 | int(body[extOff+1])
	nb := slices.Clone(body)
	newExt := extLen + 4 + pad
	nb[extOff], nb[extOff+1] = byte(newExt>>8), byte(newExt)
	nb = append(nb, 0, 21, byte(pad>>8), byte(pad))
	nb = append(nb, make([]byte, pad)...)
	msg := append([]byte{1, byte(len(nb) >> 16), byte(len(nb) >> 8), byte(len(nb))}, nb...)
	var out []byte
	for off := 0; off < len(msg); off += 15 << 10 {
		frag := msg[off:min(off+15<<10, len(msg))]
		out = append(out, 22, 3, 1, byte(len(frag)>>8), byte(len(frag)))
		out = append(out, frag...)
	}
	return out
}

// TestLostFirstSegmentIsAGap: when the server's SYN-ACK was seen and its
// first data segment (the ServerHello) is missing, the bytes lost are known
// (they start at ISN+1): that is a gap, with its note and counter, like any
// later loss, and it explains server_hello_missing. (The same loss on the
// client side is not visible before the verdict: the client's next
// segments wait in reassembly until the handshake is over.)
func TestLostFirstSegmentIsAGap(t *testing.T) {
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls12-ticket.pcap"), 8)[0]
	segs := inOrder(fl, 1460)
	for i, s := range segs {
		if s.server && len(s.data) > 0 {
			segs = slices.Delete(segs, i, i+1)
			break
		}
	}
	got, count := track(t, segs, flows.Config{})
	if len(got) != 1 {
		t.Fatalf("%d verdicts", len(got))
	}
	if got[0].Handshake == verdict.Resumed {
		t.Errorf("resumed without the ServerHello")
	}
	if !slices.Contains(got[0].Notes, "gap") || count.StreamGap != 1 {
		t.Errorf("first server segment lost: notes %v, stream_gap %d; want a gap", got[0].Notes, count.StreamGap)
	}
}

// withTicket returns the flights with the ticket of the first
// NewSessionTicket in the server's flights changed to start with n, so
// that every connection issues a ticket of its own.
func withTicket(t *testing.T, fl connFlights, n uint32) connFlights {
	t.Helper()
	out := slices.Clone(fl)
	for i, f := range out {
		if !f.server {
			continue
		}
		b := f.data
		for off := 0; off+5 <= len(b); off += 5 + (int(b[off+3])<<8 | int(b[off+4])) {
			// RFC 5077, Section 3.3: type 4, length, lifetime hint, ticket.
			if b[off] == 22 && off+9+6+4 <= len(b) && b[off+5] == 4 {
				d := slices.Clone(b)
				tk := off + 9 + 4 + 2
				d[tk], d[tk+1], d[tk+2], d[tk+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
				out[i] = flight{server: true, data: d}
				return out
			}
		}
	}
	t.Fatal("no NewSessionTicket")
	return nil
}

// TestMaxSessionsBurst: MaxSessions bounds the sessions held at any time,
// the oldest ending first; a burst of new sessions within a few seconds
// of capture time must not be held beyond it.
func TestMaxSessionsBurst(t *testing.T) {
	fl := flightsFromPcap(t, filepath.Join("..", "testdata", "pcaps", "openssl", "tls12-ticket.pcap"), 8)[0]
	const n, max = 3000, 500
	var m marker
	var ended atomic.Int64
	ss := sessions.New(sessions.Config{EmitConn: m.emit(nil), EmitSession: func(*sessions.Session) { ended.Add(1) }, Max: max})
	tr := flows.NewTracker(flows.Config{}, ss)
	z := newPacketizer()
	ts := segStart
	feed := func(ip net.IP, port layers.TCPPort, segs []segment) {
		for _, s := range segs {
			data := z.packetFor(t, ip, port, s)
			ts = ts.Add(100 * time.Microsecond)
			tr.Packet(data, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, layers.LinkTypeEthernet, 0)
		}
	}
	for i := range n {
		feed(net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}, layers.TCPPort(10000+i), inOrder(withTicket(t, fl, uint32(i)), 1460))
	}
	m.wait(t, tr, feed)
	// Every connection made a session of its own; the marker (TLS 1.3,
	// no offer) made none.
	held := n - int(ended.Load())
	tr.Close()
	if ss.Len() != n {
		t.Fatalf("%d sessions, want one per connection (%d)", ss.Len(), n)
	}
	// An eighth of slack lets the bound be enforced in amortised steps.
	if held > max+max/8 {
		t.Errorf("%d sessions held after %d in %v of capture time, MaxSessions %d", held, n, ts.Sub(segStart), max)
	}
}

// midstreamTime is how long a Tracker takes on one connection without
// SYNs (so the start of TLS is searched for anywhere) whose client sends n
// bytes of 0x16 in one segment: every byte is a handshake content type, and
// none starts a plausible record header (the best of three runs).
func midstreamTime(t *testing.T, n int) time.Duration {
	segs := []segment{{data: bytes.Repeat([]byte{0x16}, n)}}
	best := time.Duration(1 << 62)
	for range 3 {
		start := time.Now()
		track(t, segs, flows.Config{})
		best = min(best, time.Since(start))
	}
	return best
}

// TestLocateIsLinear: while a direction looks for the start of TLS, every
// byte is searched a bounded number of times, so eight times the bytes take
// about eight times as long, not sixty-four.
func TestLocateIsLinear(t *testing.T) {
	// The time of a Tracker on one byte is taken off both.
	base := midstreamTime(t, 1)
	small, large := midstreamTime(t, 1900)-base, midstreamTime(t, 15200)-base
	ratio := float64(large) / float64(max(small, time.Millisecond))
	t.Logf("1900 bytes %v, 15200 bytes %v (less %v each): ratio %.1f (to 1 ms at least)", small, large, base, ratio)
	if ratio > 24 {
		t.Errorf("8x the bytes took %.1fx the time: quadratic", ratio)
	}
}
