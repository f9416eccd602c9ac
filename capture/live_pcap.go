//go:build libpcap

package capture

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"github.com/tlsresume/tlsresume/capture/filter"
)

// pcapSource captures through libpcap.
type pcapSource struct {
	name string
	lt   layers.LinkType
	buf  []byte // each packet Next returns is copied here, so that Close may free libpcap's buffer; Poll returns it in place

	closed atomic.Bool
	readMu sync.Mutex // held by Next while it reads, by Close to close the handle
	err    error      // sticky; guarded by readMu

	packets, bytes, snaplenCut atomic.Uint64

	statsMu sync.Mutex // guards h's closing and kernel
	h       *pcap.Handle
	kernel  pcap.Stats // last read, kept after Close
}

// OpenLive starts a live capture. In the libpcap build (go build -tags
// libpcap) it uses libpcap through gopacket/pcap, with libpcap's link types
// (Linux cooked for "any") and libpcap's filter compiler for the whole
// pcap-filter(7) syntax. The API and behaviour are those of the default
// build: Close from any goroutine makes a blocked read return io.EOF
// promptly, Next copies each packet and Poll does not (Packet.Data points
// into libpcap's buffer, valid until the next Next, Poll or Close; see
// Live.Poll for the order), Stats reports
// libpcap's kernel counters. Errors: the filter's *filter.Error, or an
// *Error naming the interface (wrapping os.ErrPermission without the
// privilege to capture, ErrNoSuchInterface for an interface that does not
// exist).
func OpenLive(cfg LiveConfig) (Live, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	name, err := interfaceName(cfg.Interface)
	if err != nil {
		return nil, err
	}
	// The expression's errors come first, in this package's words, and
	// without privileges: compile it once for Ethernet.
	if _, err := filter.Compile(cfg.Filter, layers.LinkTypeEthernet, cfg.Snaplen); err != nil {
		return nil, err
	}
	in, err := pcap.NewInactiveHandle(name)
	if err != nil {
		return nil, pcapErr(name, err)
	}
	defer in.CleanUp()
	if err := in.SetSnapLen(cfg.Snaplen); err != nil {
		return nil, pcapErr(name, err)
	}
	if err := in.SetPromisc(!cfg.NoPromisc && name != anyInterface); err != nil {
		return nil, pcapErr(name, err)
	}
	// The timeout is also how long a read waits before Poll reports
	// ErrTimeout and a blocked Next looks whether Close was called.
	if err := in.SetTimeout(min(cfg.Timeout, PollWait)); err != nil {
		return nil, pcapErr(name, err)
	}
	if err := in.SetBufferSize(cfg.BufferSize); err != nil {
		return nil, pcapErr(name, err)
	}
	h, err := in.Activate()
	if err != nil {
		return nil, pcapErr(name, err)
	}
	if strings.TrimSpace(cfg.Filter) != "" {
		if err := h.SetBPFFilter(cfg.Filter); err != nil {
			h.Close()
			return nil, &filter.Error{Expr: cfg.Filter, Msg: err.Error()}
		}
	}
	lt := h.LinkType()
	if !SupportedLinkType(lt) {
		h.Close()
		return nil, &Error{File: name, Err: fmt.Errorf("%w %s", ErrUnsupportedLinkType, linkTypeString(uint32(lt))), Hint: supportedHint}
	}
	return &pcapSource{name: name, lt: lt, buf: make([]byte, cfg.Snaplen), h: h}, nil
}

// pcapErr turns libpcap's errors into this package's.
func pcapErr(name string, err error) error {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission") || strings.Contains(low, "not permitted"):
		return errPermission(name, &textError{msg: msg, cause: errPermissionCause})
	case strings.Contains(low, "no such device"):
		return errNoInterface(name)
	case strings.Contains(low, "not up"):
		return errDown(name)
	}
	return &Error{File: name, Err: fmt.Errorf("libpcap: %w", err)}
}

// Next is Poll with a copy into s.buf, waiting until a packet comes, so
// that Close may free libpcap's buffer while the caller reads the packet.
func (s *pcapSource) Next() (Packet, error) {
	for {
		p, err := s.read(true)
		if err != ErrTimeout {
			return p, err
		}
	}
}

func (s *pcapSource) Poll() (Packet, error) { return s.read(false) }

// read returns the next packet, in place in libpcap's buffer or, with
// copyOut, in s.buf; ErrTimeout after libpcap's timeout without one. It
// holds readMu and looks at closed after libpcap's wait, as the AF_PACKET
// read does.
func (s *pcapSource) read(copyOut bool) (Packet, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if s.err != nil {
		return Packet{}, s.err
	}
	if s.closed.Load() {
		return Packet{}, io.EOF
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if s.closed.Load() {
		return Packet{}, io.EOF
	}
	if err != nil {
		if err == pcap.NextErrorTimeoutExpired {
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
	frame := s.packets.Add(1)
	s.bytes.Add(uint64(len(data)))
	if ci.CaptureLength < ci.Length {
		s.snaplenCut.Add(1)
	}
	return Packet{Data: data, CI: ci, LinkType: s.lt, Frame: frame}, nil
}

// Stats may be called from any goroutine, also after Close.
func (s *pcapSource) Stats() Stats {
	st := Stats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), SnaplenCut: s.snaplenCut.Load()}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.readKernelStats()
	st.KernelPackets = uint64(s.kernel.PacketsReceived)
	st.KernelDrops = uint64(s.kernel.PacketsDropped)
	return st
}

// readKernelStats updates s.kernel while the handle is open. statsMu is held.
func (s *pcapSource) readKernelStats() {
	if s.h == nil {
		return
	}
	if ks, err := s.h.Stats(); err == nil {
		s.kernel = *ks
	}
}

// Close stops the capture, from any goroutine: a Next or Poll blocked in
// another goroutine returns io.EOF. It waits for that read (PollWait at
// most), then frees libpcap's buffer, and with it the packet a Poll
// returned.
func (s *pcapSource) Close() error {
	s.closed.Store(true)
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.h != nil {
		s.readKernelStats()
		s.h.Close()
		s.h = nil
	}
	return nil
}
