package capture

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of LiveConfig.
const (
	// DefaultSnaplen is the snap length when LiveConfig.Snaplen is 0, and
	// the largest there is (tcpdump's).
	DefaultSnaplen = 262144
	// DefaultBufferSize is the kernel ring's size when
	// LiveConfig.BufferSize is 0.
	DefaultBufferSize = 32 << 20
	// DefaultTimeout is how long the kernel may hold packets when
	// LiveConfig.Timeout is 0.
	DefaultTimeout = 50 * time.Millisecond
)

// PollWait is how long a live read waits in the kernel for a packet before
// it returns: Poll then reports ErrTimeout, and a blocked Next looks
// whether Close was called and waits again.
const PollWait = 10 * time.Millisecond

// anyInterface is the pseudo-interface that captures on all interfaces.
const anyInterface = "any"

// LiveConfig says where and how to capture live. The zero value of every
// field but Interface is a sensible default.
type LiveConfig struct {
	// Interface is an interface name ("eth0"), "any" for all of them
	// (Linux), or the number Interfaces gives it, counting from 1, as
	// tcpdump -D prints it.
	Interface string
	// Snaplen is how many bytes of each packet are kept (tcpdump -s); 0
	// means DefaultSnaplen, and more than DefaultSnaplen is cut to it.
	Snaplen int
	// NoPromisc leaves the interface out of promiscuous mode (tcpdump -p).
	// By default a real interface is put in promiscuous mode for as long
	// as the capture runs; "any" never is.
	NoPromisc bool
	// Filter is a tcpdump filter expression ("tcp port 443"), attached to
	// the socket so that the kernel drops what does not match. Empty:
	// every packet. The default build compiles the subset described in
	// package filter; the libpcap build the whole syntax.
	Filter string
	// BufferSize is the size in bytes of the kernel's packet buffer
	// (tcpdump -B takes KiB); 0 means DefaultBufferSize. When it is full,
	// the kernel drops packets and counts them in Stats.KernelDrops.
	BufferSize int
	// Timeout is how long the kernel may hold packets before handing them
	// over (the TPACKET_V3 block timeout, libpcap's buffer timeout); 0
	// means DefaultTimeout.
	Timeout time.Duration
}

// withDefaults fills in the zero fields.
func (c LiveConfig) withDefaults() (LiveConfig, error) {
	switch {
	case c.Interface == "":
		return c, &Error{Err: errors.New("no interface given (tlsresume -D lists them)")}
	case c.Snaplen < 0:
		return c, &Error{File: c.Interface, Err: fmt.Errorf("snap length %d is negative", c.Snaplen)}
	case c.BufferSize < 0:
		return c, &Error{File: c.Interface, Err: fmt.Errorf("buffer size %d is negative", c.BufferSize)}
	case c.Timeout < 0:
		return c, &Error{File: c.Interface, Err: fmt.Errorf("timeout %v is negative", c.Timeout)}
	}
	if c.Snaplen == 0 || c.Snaplen > DefaultSnaplen {
		c.Snaplen = DefaultSnaplen
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// Live is a live capture, as OpenLive returns it. Beside Next, which
// copies each packet out of the kernel's buffer, it has Poll, which does
// not, for a caller that reads and analyses on one goroutine.
type Live interface {
	Source
	// Poll returns the next packet where the kernel put it (the
	// TPACKET_V3 ring, or libpcap's buffer), or ErrTimeout when none
	// came within PollWait: the capture goes on, and the caller may do
	// its timed work and call Poll again. The end of the capture is
	// io.EOF, as for Next.
	//
	// Packet.Data is valid only until the next call to Poll, Next or
	// Close: Close unmaps the ring, and with it the last packet. So the
	// order is Poll, use the packet, then Poll again or Close, all on
	// one goroutine; Close from another goroutine is safe only while
	// Poll is blocked there (it then returns io.EOF, never a packet) or
	// once that goroutine is done with its last packet. Poll allocates
	// nothing (gopacket's afpacket does for a packet with a VLAN tag).
	Poll() (Packet, error)
}

// ErrTimeout is returned by Live.Poll when no packet came within
// PollWait.
var ErrTimeout = errors.New("capture: no packet yet")

// ErrNoSuchInterface is wrapped by the error of OpenLive for an interface
// that does not exist.
var ErrNoSuchInterface = errors.New("no such interface")

// ErrInterfaceDown is wrapped by the error of OpenLive for an interface
// that is not up.
var ErrInterfaceDown = errors.New("interface is down")

// ErrNeedLibpcap is wrapped by the error of OpenLive on a system where the
// default build cannot capture live (other than Linux).
var ErrNeedLibpcap = errors.New("live capture on this system needs the libpcap build: go build -tags libpcap")

// textError is an error with its own message around a cause, so that
// errors.Is finds the cause (os.ErrPermission for EPERM).
type textError struct {
	msg   string
	cause error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.cause }

// errPermissionCause is the cause given to errPermission when the system's
// error is not at hand (libpcap's messages).
var errPermissionCause = os.ErrPermission

// errPermission is the error for a capture the process may not open.
func errPermission(iface string, cause error) error {
	return &Error{File: iface, Err: &textError{
		msg:   "permission denied: live capture needs root or CAP_NET_RAW (sudo setcap cap_net_raw,cap_net_admin=eip $(which tlsresume))",
		cause: cause,
	}}
}

// errNoInterface is the error for an interface that does not exist.
func errNoInterface(iface string) error {
	return &Error{File: iface, Err: fmt.Errorf("%w (tlsresume -D lists them)", ErrNoSuchInterface)}
}

// errDown is the error for an interface that is not up.
func errDown(iface string) error {
	return &Error{File: iface, Err: fmt.Errorf("%w (ip link set %s up)", ErrInterfaceDown, iface)}
}

// Interface is a network interface that OpenLive can capture on.
type Interface struct {
	// Name is what LiveConfig.Interface takes.
	Name string
	// Index is the system's interface index, 0 for "any".
	Index int
	// Description is set for pseudo-interfaces ("any").
	Description string
	// Up, Running and Loopback are the interface's flags.
	Up, Running, Loopback bool
	// Addrs are its IP addresses with their prefix lengths.
	Addrs []netip.Prefix
}

// String is the interface as tcpdump -D prints it, without the number:
// "eth0 [Up, Running]", "any (Pseudo-device that captures on all
// interfaces) [Up, Running]", "ifb0 [none]".
func (i Interface) String() string {
	var b strings.Builder
	b.WriteString(i.Name)
	if i.Description != "" {
		b.WriteString(" (" + i.Description + ")")
	}
	var flags []string
	if i.Up {
		flags = append(flags, "Up")
	}
	if i.Running {
		flags = append(flags, "Running")
	}
	if i.Loopback {
		flags = append(flags, "Loopback")
	}
	if len(flags) == 0 {
		flags = append(flags, "none")
	}
	b.WriteString(" [" + strings.Join(flags, ", ") + "]")
	return b.String()
}

// Interfaces lists the interfaces to capture on, in tcpdump -D's order: the
// ones up and running first, then "any" (on Linux), then loopback, then the
// ones down. Interface i (from 0) is number i+1 for LiveConfig.Interface.
func Interfaces() ([]Interface, error) {
	nifs, err := net.Interfaces()
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("list interfaces: %w", err)}
	}
	ifs := make([]Interface, 0, len(nifs)+1)
	for _, n := range nifs {
		i := Interface{
			Name:     n.Name,
			Index:    n.Index,
			Up:       n.Flags&net.FlagUp != 0,
			Running:  n.Flags&net.FlagRunning != 0,
			Loopback: n.Flags&net.FlagLoopback != 0,
		}
		if addrs, err := n.Addrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					ip, _ := netip.AddrFromSlice(ipn.IP)
					ones, _ := ipn.Mask.Size()
					i.Addrs = append(i.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
				}
			}
		}
		ifs = append(ifs, i)
	}
	if runtime.GOOS == "linux" {
		ifs = append(ifs, Interface{Name: anyInterface, Description: "Pseudo-device that captures on all interfaces", Up: true, Running: true})
	}
	rank := func(i Interface) int {
		switch {
		case i.Name == anyInterface && i.Index == 0:
			return 1
		case i.Up && i.Running && !i.Loopback:
			return 0
		case i.Up && i.Loopback:
			return 2
		}
		return 3
	}
	sort.SliceStable(ifs, func(a, b int) bool { return rank(ifs[a]) < rank(ifs[b]) })
	return ifs, nil
}

// interfaceName resolves a number as tcpdump -D prints it to the name. A
// name, or a number that names an interface itself, stays as it is.
func interfaceName(name string) (string, error) {
	n, err := strconv.Atoi(name)
	if err != nil || n < 1 {
		return name, nil
	}
	if _, err := net.InterfaceByName(name); err == nil {
		return name, nil
	}
	ifs, err := Interfaces()
	if err != nil {
		return "", err
	}
	if n > len(ifs) {
		return "", &Error{File: name, Err: fmt.Errorf("%w: there are %d interfaces (tlsresume -D lists them)", ErrNoSuchInterface, len(ifs))}
	}
	return ifs[n-1].Name, nil
}
