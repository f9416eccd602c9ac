//go:build !libpcap && linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tlsresume/tlsresume/capture/filter"
)

// ARPHRD_ values of /sys/class/net/NAME/type for devices with Ethernet
// framing.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// afpacketSource captures on a Linux AF_PACKET socket with a TPACKET_V3
// ring.
type afpacketSource struct {
	name string
	lt   layers.LinkType
	// buf receives each packet Next returns: copying it out of the ring
	// lets Close unmap the ring while the caller still reads the last
	// packet. Poll returns the packet in place.
	buf []byte
	// start is when the filter was attached. Packets stamped before it
	// may have entered the ring unfiltered: early checks them in user
	// space, or, when nil, they are dropped.
	start      time.Time
	checkEarly bool
	early      *filter.Filter

	closed atomic.Bool
	readMu sync.Mutex // held by Next while it reads the ring, by Close to unmap it
	err    error      // sticky; guarded by readMu

	packets, bytes, snaplenCut atomic.Uint64

	statsMu sync.Mutex // guards tp's closing and kernel
	tp      *afpacket.TPacket
	kernel  afpacket.SocketStatsV3 // last read, kept after Close
}

// OpenLive starts a live capture. In the default build on Linux it opens
// an AF_PACKET socket with a TPACKET_V3 ring (gopacket/afpacket), no cgo:
//
//   - on an Ethernet or loopback interface, packets come with their
//     Ethernet header (LinkType Ethernet), VLAN tags removed by the kernel;
//   - on "any" and on interfaces without Ethernet framing (tun, WireGuard,
//     PPP), the socket is cooked (SOCK_DGRAM): packets start at the IP
//     header (LinkType Raw, LINKTYPE_RAW) and only IPv4 and IPv6 are kept;
//   - the filter is compiled by filter.CompileSocket and attached to the
//     socket; packets sent on the loopback device are dropped because
//     each of them also comes back received (libpcap does the same);
//   - Packet.CI.InterfaceIndex is the system's interface index, useful on
//     "any".
//
// Next blocks until a packet comes and copies it out of the ring; Poll
// returns it in place, or ErrTimeout after PollWait. Close, from any
// goroutine, makes a blocked read return io.EOF within PollWait.
// Packet.Data is valid until the next call to Next, Poll or Close. Stats
// reports the kernel's counters.
//
// Errors: the filter's *filter.Error, or an *Error naming the interface:
// wrapping os.ErrPermission without CAP_NET_RAW, ErrNoSuchInterface for an
// interface that does not exist.
func OpenLive(cfg LiveConfig) (Live, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	name, err := interfaceName(cfg.Interface)
	if err != nil {
		return nil, err
	}
	sock := filter.Socket{LoopbackIndex: loopbackIndex()}
	promisc := !cfg.NoPromisc
	if name == anyInterface {
		sock.Cooked, promisc = true, false
	} else {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, errNoInterface(name)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, errDown(name)
		}
		sock.Cooked = !ethernetFraming(ifi)
	}
	prog, err := filter.CompileSocket(cfg.Filter, sock, cfg.Snaplen)
	if err != nil {
		return nil, err
	}
	s := &afpacketSource{name: name, lt: layers.LinkTypeEthernet, buf: make([]byte, cfg.Snaplen)}
	if sock.Cooked {
		s.lt = layers.LinkTypeRaw
	}
	// A packet that came in before the filter was attached is checked
	// again here; one the user-space compiler cannot check (a "vlan"
	// filter on a cooked socket) is dropped. A cooked socket keeps IPv4
	// and IPv6 only.
	if expr := strings.TrimSpace(cfg.Filter); expr != "" || sock.Cooked {
		if sock.Cooked {
			expr = joinFilters("ip or ip6", expr)
		}
		s.checkEarly = true
		s.early, _ = filter.CompileGo(expr, s.lt, cfg.Snaplen)
	}

	block := ringBlockSize(cfg.Snaplen)
	opts := []any{
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(block),
		afpacket.OptFrameSize(afpacket.DefaultFrameSize),
		afpacket.OptNumBlocks(max(2, cfg.BufferSize/block)),
		afpacket.OptBlockTimeout(max(cfg.Timeout, time.Millisecond)),
		afpacket.OptPollTimeout(PollWait),
	}
	if name != anyInterface {
		opts = append(opts, afpacket.OptInterface(name))
	}
	if sock.Cooked {
		opts = append(opts, afpacket.SocketDgram)
	}
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, errPermission(name, err)
		}
		if errors.Is(err, syscall.ENODEV) || strings.Contains(err.Error(), "no such network interface") {
			return nil, errNoInterface(name)
		}
		return nil, &Error{File: name, Err: fmt.Errorf("open AF_PACKET socket: %w", err)}
	}
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, &Error{File: name, Err: fmt.Errorf("attach filter: %w", err)}
	}
	if promisc {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			if errors.Is(err, syscall.EPERM) {
				return nil, errPermission(name, err)
			}
			return nil, &Error{File: name, Err: fmt.Errorf("promiscuous mode: %w", err)}
		}
	}
	// Count from here: the kernel counters restart when read.
	if err := tp.InitSocketStats(); err != nil {
		tp.Close()
		return nil, &Error{File: name, Err: fmt.Errorf("socket statistics: %w", err)}
	}
	s.tp = tp
	s.start = time.Now()
	return s, nil
}

// joinFilters is "(a) and (b)", or a when b is empty.
func joinFilters(a, b string) string {
	if b == "" {
		return a
	}
	return "(" + a + ") and (" + b + ")"
}

// ringBlockSize is the size of a TPACKET_V3 block: a power of two that
// holds a packet of snaplen bytes with its headers, at least 128 KiB.
func ringBlockSize(snaplen int) int {
	b := 128 << 10
	for b < snaplen+4096 {
		b *= 2
	}
	return b
}

// ethernetFraming reports whether packets on the interface start with an
// Ethernet header (Ethernet, Wi-Fi in station mode, loopback).
func ethernetFraming(ifi *net.Interface) bool {
	if b, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/type"); err == nil {
		if t, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return t == arphrdEther || t == arphrdLoopback
		}
	}
	return ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) == 6
}

// loopbackIndex is the index of the loopback interface, 0 if there is none.
func loopbackIndex() int {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Index
		}
	}
	return 0
}

// Next is Poll with a copy into s.buf, waiting until a packet comes: a
// copy lets Close, from any goroutine, unmap the ring while the caller
// still reads the last packet.
func (s *afpacketSource) Next() (Packet, error) {
	for {
		p, err := s.read(true)
		if err != ErrTimeout {
			return p, err
		}
	}
}

func (s *afpacketSource) Poll() (Packet, error) { return s.read(false) }

// read returns the next packet, in place in the ring or, with copyOut, in
// s.buf; ErrTimeout after PollWait without one.
//
// A read holds readMu, so that Close waits for it before it unmaps the
// ring, and looks at closed after the kernel's wait: a read that Close
// has overtaken returns io.EOF and no packet, even one just taken from
// the ring.
func (s *afpacketSource) read(copyOut bool) (Packet, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		if s.err != nil {
			return Packet{}, s.err
		}
		if s.closed.Load() {
			return Packet{}, io.EOF
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if s.closed.Load() {
			return Packet{}, io.EOF
		}
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, syscall.EINTR) {
				return Packet{}, ErrTimeout
			}
			s.err = &Error{File: s.name, Err: fmt.Errorf("read: %w", err)}
			return Packet{}, s.err
		}
		if copyOut {
			data = s.buf[:copy(s.buf, data)]
		}
		ci.CaptureLength = len(data)
		ci.Timestamp = ci.Timestamp.UTC()
		ci.AncillaryData = nil
		if s.checkEarly && ci.Timestamp.Before(s.start) && (s.early == nil || !s.early.Matches(ci, data)) {
			continue
		}
		frame := s.packets.Add(1)
		s.bytes.Add(uint64(len(data)))
		if ci.CaptureLength < ci.Length {
			s.snaplenCut.Add(1)
		}
		return Packet{Data: data, CI: ci, LinkType: s.lt, Frame: frame}, nil
	}
}

// Stats may be called from any goroutine, also after Close.
func (s *afpacketSource) Stats() Stats {
	st := Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), SnaplenCut: s.snaplenCut.Load()}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.readKernelStats()
	st.KernelPackets = uint64(s.kernel.Packets())
	st.KernelDrops = uint64(s.kernel.Drops())
	st.KernelFreezes = uint64(s.kernel.QueueFreezes())
	return st
}

// readKernelStats updates s.kernel while the socket is open. statsMu is held.
func (s *afpacketSource) readKernelStats() {
	if s.tp == nil {
		return
	}
	if _, v3, err := s.tp.SocketStats(); err == nil {
		s.kernel = v3
	}
}

// Close stops the capture, from any goroutine: a Next or Poll blocked in
// another goroutine returns io.EOF. It waits for that read (PollWait at
// most), then unmaps the ring and closes the socket, which also leaves
// promiscuous mode. The packet a Poll returned goes with the ring: see
// Live.Poll for the order.
func (s *afpacketSource) Close() error {
	s.closed.Store(true)
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.tp != nil {
		s.readKernelStats()
		s.tp.Close()
		s.tp = nil
	}
	return nil
}
