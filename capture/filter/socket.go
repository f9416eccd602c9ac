package filter

import "golang.org/x/net/bpf"

// packetOutgoing is PACKET_OUTGOING, skb->pkt_type of a packet the host
// sends.
const packetOutgoing = 4

// Socket describes the Linux AF_PACKET socket a program is for.
type Socket struct {
	// Cooked is a SOCK_DGRAM socket: packets start at the network header
	// and the program reads the protocol from ancillary data
	// (SKF_AD_PROTOCOL). Only IPv4 and IPv6 packets are accepted, so that
	// the packets read can be taken as raw IP (LINKTYPE_RAW). Otherwise
	// packets start with an Ethernet header.
	Cooked bool
	// LoopbackIndex, when not 0, is the interface index of the loopback
	// device: packets sent on it are dropped, because each of them comes
	// back as a received packet (libpcap drops them too).
	LoopbackIndex int
}

// CompileSocket compiles expr for the kernel, to attach with
// SO_ATTACH_FILTER to socket s. The kernel removes VLAN tags before the
// program runs, so "vlan [ID]" tests the tag in ancillary data and the
// primitives after it look at the same offsets as without it. A matching
// packet is cut to snaplen (DefaultSnaplen when 0). Errors are *Error.
func CompileSocket(expr string, s Socket, snaplen int) ([]bpf.RawInstruction, error) {
	l := link{kind: lkEther, name: "Linux socket", typeOff: 12, nl: 14, socket: true}
	if s.Cooked {
		l = link{kind: lkProto, name: "Linux cooked socket", socket: true}
	}
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	n, err := parse(expr, l)
	if err != nil {
		return nil, err
	}
	if s.Cooked {
		n = and(or(l.proto(etherIPv4), l.proto(etherIPv6)), n)
	}
	if s.LoopbackIndex > 0 {
		looped := and(eq(ext(bpf.ExtType), packetOutgoing), eq(ext(bpf.ExtInterfaceIndex), uint32(s.LoopbackIndex)))
		n = and(not(looped), n)
	}
	prog, err := generate(n, uint32(snaplen))
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: "assemble: " + err.Error(), kind: errValue}
	}
	return raw, nil
}
