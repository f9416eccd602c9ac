package tlsgen

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The pipe is the in-memory transport between the two stacks of one connection. It never
// blocks a writer (like a socket with a large buffer), records every Write and Close in the
// order they happen, and keeps a virtual clock per side:
//
//   - a Write from a side happens at that side's clock; its bytes leave as segments one
//     Options.Step apart and arrive at the peer half an RTT after the last one;
//   - a Read returns bytes from at most one earlier Write, and moves the reader's clock to
//     the arrival of that Write plus one Step (the time it takes to answer).
//
// So the timestamps follow causality, whatever order the goroutines run in: a side's clock
// depends only on what it wrote and what it read, both of which the protocol fixes.

const (
	sideClient = 0
	sideServer = 1
)

// event is one Write (data != nil) or Close (fin) recorded on the pipe.
type event struct {
	from int
	at   time.Time
	data []byte // owned by the event
	fin  bool
}

// chunk is the unread rest of one Write, queued for the peer.
type chunk struct {
	data   []byte
	arrive time.Time
}

type pipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	half   time.Duration // one-way delay
	step   time.Duration // time between two segments of one sender
	seg    int           // segment size used for timing
	clock  [2]time.Time
	in     [2][]chunk // in[s]: chunks waiting for side s to read
	fin    [2]bool    // side s has closed its sending half
	finAt  [2]time.Time
	closed [2]bool // side s has closed its end (no more reads)
	events []event
	addr   [2]netip.AddrPort
}

// newPipe returns a pipe whose TCP handshake starts (SYN) at t0. The client may send data
// after the third packet of the handshake, the server after it has seen the SYN.
func newPipe(t0 time.Time, rtt, step time.Duration, seg int, client, server netip.AddrPort) *pipe {
	p := &pipe{half: rtt / 2, step: step, seg: seg, addr: [2]netip.AddrPort{client, server}}
	p.cond.L = &p.mu
	p.clock[sideClient] = t0.Add(rtt + step) // SYN, SYN-ACK at t0+rtt/2, ACK at t0+rtt
	p.clock[sideServer] = t0.Add(rtt/2 + step)
	return p
}

func (p *pipe) end(side int) *pipeConn { return &pipeConn{p: p, side: side} }

// now returns the virtual clock of a side; it is what the side's tls.Config.Time reports.
func (p *pipe) now(side int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clock[side]
}

// abort closes both ends so that any blocked Read returns.
func (p *pipe) abort() {
	p.mu.Lock()
	p.closed = [2]bool{true, true}
	p.fin = [2]bool{true, true}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pipeConn is one end of a pipe, a net.Conn whose addresses are the simulated ones.
type pipeConn struct {
	p    *pipe
	side int
}

var _ net.Conn = (*pipeConn)(nil)

func (c *pipeConn) Write(b []byte) (int, error) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed[c.side] || p.fin[c.side] {
		return 0, net.ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	at := p.clock[c.side]
	data := append([]byte(nil), b...)
	p.events = append(p.events, event{from: c.side, at: at, data: data})
	nseg := (len(b) + p.seg - 1) / p.seg
	last := at.Add(time.Duration(nseg-1) * p.step)
	p.clock[c.side] = last.Add(p.step)
	peer := 1 - c.side
	if !p.closed[peer] {
		p.in[peer] = append(p.in[peer], chunk{data: data, arrive: last.Add(p.half)})
		p.cond.Broadcast()
	}
	return len(b), nil
}

func (c *pipeConn) Read(b []byte) (int, error) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed[c.side] {
			return 0, net.ErrClosed
		}
		if len(p.in[c.side]) > 0 {
			break
		}
		if p.fin[1-c.side] {
			// Seeing the end of the stream takes as long as seeing data.
			if t := p.finAt[1-c.side].Add(p.half + p.step); t.After(p.clock[c.side]) {
				p.clock[c.side] = t
			}
			return 0, io.EOF
		}
		p.cond.Wait()
	}
	ch := &p.in[c.side][0]
	n := copy(b, ch.data)
	ch.data = ch.data[n:]
	if t := ch.arrive.Add(p.step); t.After(p.clock[c.side]) {
		p.clock[c.side] = t
	}
	if len(ch.data) == 0 {
		p.in[c.side] = p.in[c.side][1:]
	}
	return n, nil
}

// Close sends a FIN (if not sent yet) and ends reading on this side. Data the peer still
// sends is recorded, as if this side had only shut down its sending half.
func (c *pipeConn) Close() error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fin[c.side] {
		at := p.clock[c.side]
		p.events = append(p.events, event{from: c.side, at: at, fin: true})
		p.clock[c.side] = at.Add(p.step)
		p.fin[c.side] = true
		p.finAt[c.side] = at
	}
	p.closed[c.side] = true
	p.in[c.side] = nil
	p.cond.Broadcast()
	return nil
}

func (c *pipeConn) LocalAddr() net.Addr  { return net.TCPAddrFromAddrPort(c.p.addr[c.side]) }
func (c *pipeConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.p.addr[1-c.side]) }

// Deadlines are meaningless on virtual time; crypto/tls sets one in Close.
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }
