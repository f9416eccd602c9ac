package quicgen

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
)

// network is an in-memory UDP network. Every WriteTo is recorded, in the order of the calls
// (under one lock), before the datagram is queued at its destination. Nothing is lost,
// reordered or delayed on the way: damage is applied to the capture only.
type network struct {
	mu    sync.Mutex
	ends  map[netip.AddrPort]*packetConn
	sent  []datagram
	limit int // most datagrams recorded; past it WriteTo fails, which ends a runaway run
}

// datagram is one UDP payload as sent. data is owned by the network.
type datagram struct {
	src, dst netip.AddrPort
	data     []byte
}

func newNetwork() *network {
	return &network{ends: make(map[netip.AddrPort]*packetConn), limit: maxDatagrams}
}

// maxDatagrams bounds one run; a handshake and a request take a few dozen.
const maxDatagrams = 100000

// listen returns the endpoint bound to a.
func (n *network) listen(a netip.AddrPort) (*packetConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.ends[a]; ok {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(a), Err: errAddrInUse}
	}
	c := &packetConn{net: n, addr: a, notify: make(chan struct{})}
	n.ends[a] = c
	return c, nil
}

// take returns what was sent since the last call.
func (n *network) take() []datagram {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := n.sent
	n.sent = nil
	return d
}

func (n *network) send(src, dst netip.AddrPort, b []byte) error {
	n.mu.Lock()
	if len(n.sent) >= n.limit {
		n.mu.Unlock()
		return errTooMany
	}
	data := slices.Clone(b)
	n.sent = append(n.sent, datagram{src: src, dst: dst, data: data})
	to := n.ends[dst]
	n.mu.Unlock()
	if to != nil {
		to.deliver(src, data)
	}
	return nil
}

type netError string

func (e netError) Error() string { return string(e) }

const (
	errAddrInUse netError = "address in use"
	errTooMany   netError = "too many datagrams"
)

// packetConn is one endpoint of the network. quic-go sees it as a plain net.PacketConn (no
// OOB, no GSO, no ECN).
type packetConn struct {
	net  *network
	addr netip.AddrPort

	mu       sync.Mutex
	queue    []queued
	closed   bool
	deadline time.Time
	notify   chan struct{} // closed and replaced on every change of the fields above
}

type queued struct {
	from netip.AddrPort
	data []byte
}

var _ net.PacketConn = (*packetConn)(nil)

func (c *packetConn) changed() {
	close(c.notify)
	c.notify = make(chan struct{})
}

func (c *packetConn) deliver(from netip.AddrPort, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.queue = append(c.queue, queued{from: from, data: data})
	c.changed()
}

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			q := c.queue[0]
			c.queue[0] = queued{}
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return copy(b, q.data), net.UDPAddrFromAddrPort(q.from), nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, nil, c.opError("read", net.ErrClosed)
		}
		dl, wait := c.deadline, c.notify
		c.mu.Unlock()
		if dl.IsZero() {
			<-wait
			continue
		}
		d := time.Until(dl)
		if d <= 0 {
			return 0, nil, c.opError("read", os.ErrDeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-wait:
		case <-t.C:
		}
		t.Stop()
	}
}

func (c *packetConn) WriteTo(b []byte, to net.Addr) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, c.opError("write", net.ErrClosed)
	}
	u, ok := to.(*net.UDPAddr)
	if !ok {
		return 0, c.opError("write", netError("not a UDP address"))
	}
	ap := u.AddrPort()
	dst := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := c.net.send(c.addr, dst, b); err != nil {
		return 0, c.opError("write", err)
	}
	return len(b), nil
}

func (c *packetConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "udp", Addr: c.LocalAddr(), Err: err}
}

func (c *packetConn) Close() error {
	c.net.mu.Lock()
	if c.net.ends[c.addr] == c {
		delete(c.net.ends, c.addr)
	}
	c.net.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.queue = nil
		c.changed()
	}
	return nil
}

func (c *packetConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.addr) }

func (c *packetConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *packetConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	c.changed()
	return nil
}

func (c *packetConn) SetWriteDeadline(time.Time) error { return nil }

// SetReadBuffer and SetWriteBuffer do nothing: the queues are unbounded. quic-go calls
// them, and logs a warning when a net.PacketConn lacks them.
func (c *packetConn) SetReadBuffer(int) error  { return nil }
func (c *packetConn) SetWriteBuffer(int) error { return nil }
