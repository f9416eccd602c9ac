package flows

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// IP protocol numbers of the transports.
const (
	protoTCP = 6
	protoUDP = 17
)

// TCP flags (RFC 9293, Section 3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// header is what the front decodes of a packet, once: the flow it belongs
// to and where its transport header lies in the packet. The worker decodes
// only the transport header at data[l4Off:l4End], never the link and
// network layers again. For TCP, l4End is 0 when the front could not
// bound it (a packet cut by the snap length, say), and the worker then
// decodes the whole packet as gopacket does; a UDP header always has its
// bounds.
type header struct {
	src, dst     [16]byte
	sp, dp       uint16
	proto        uint8 // protoTCP or protoUDP
	flags        uint8 // TCP
	seq          uint32
	l4Off, l4End int
}

// udpPayload returns the UDP payload of a packet whose header h decoded.
func (h *header) udpPayload(data []byte) []byte { return data[h.l4Off+8 : h.l4End] }

// fastHeader reads a TCP segment's addresses, ports, flags and sequence
// number from the fixed header offsets of plain Ethernet (one 802.1Q tag
// at most) or raw IP, IPv4 without fragmentation or IPv6 without extension
// headers. Anything else goes to the layer decoders.
func fastHeader(lt layers.LinkType, data []byte) (h header, ok bool) {
	off := 0
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return h, false
		}
		et := uint16(data[12])<<8 | uint16(data[13])
		off = 14
		if et == 0x8100 && len(data) >= 18 {
			et, off = uint16(data[16])<<8|uint16(data[17]), 18
		}
		if et != 0x0800 && et != 0x86dd {
			return h, false
		}
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
	case layers.LinkTypePPP:
		n, ok := pppIP(data)
		if !ok {
			return h, false
		}
		off = n
	default:
		return h, false
	}
	ip := data[off:]
	var tcp []byte
	end := 0 // the end of the IP payload in data, when it lies within data
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4:
		ihl := int(ip[0]&0x0f) * 4
		// RFC 791: protocol 6 or 17, not a fragment.
		if (ip[9] != protoTCP && ip[9] != protoUDP) || ihl < 20 || len(ip) < ihl+20 || (ip[6]&0x3f) != 0 || ip[7] != 0 {
			return h, false
		}
		h.proto = ip[9]
		h.src[10], h.src[11], h.dst[10], h.dst[11] = 0xff, 0xff, 0xff, 0xff
		copy(h.src[12:], ip[12:16])
		copy(h.dst[12:], ip[16:20])
		tcp = ip[ihl:]
		// RFC 791: the total length bounds the datagram; what follows it
		// in the frame is link-layer padding.
		if n := int(ip[2])<<8 | int(ip[3]); n >= ihl+20 && n <= len(ip) {
			end = off + n
		}
	case len(ip) >= 60 && ip[0]>>4 == 6:
		// RFC 8200: next header TCP or UDP directly, no extension headers.
		if ip[6] != protoTCP && ip[6] != protoUDP {
			return h, false
		}
		h.proto = ip[6]
		copy(h.src[:], ip[8:24])
		copy(h.dst[:], ip[24:40])
		tcp = ip[40:]
		if n := int(ip[4])<<8 | int(ip[5]); n >= 20 && 40+n <= len(ip) {
			end = off + 40 + n
		}
	default:
		return h, false
	}
	if h.proto == protoUDP {
		return udpHeader(h, data, tcp, end)
	}
	// RFC 9293, Section 3.1: the data offset must cover the fixed header.
	doff := int(tcp[12]>>4) * 4
	if doff < 20 {
		return h, false
	}
	h.sp, h.dp = uint16(tcp[0])<<8|uint16(tcp[1]), uint16(tcp[2])<<8|uint16(tcp[3])
	h.seq = uint32(tcp[4])<<24 | uint32(tcp[5])<<16 | uint32(tcp[6])<<8 | uint32(tcp[7])
	h.flags = tcp[13]
	if l4Off := len(data) - len(tcp); end != 0 && l4Off+doff <= end {
		h.l4Off, h.l4End = l4Off, end
	}
	return h, true
}

// udpHeader reads a UDP header (RFC 768) at l4 in data, whose IP payload
// ends at end (0: not known, the packet is left to the layer decoders).
func udpHeader(h header, data, l4 []byte, end int) (header, bool) {
	off := len(data) - len(l4)
	if end == 0 || off+8 > end {
		return h, false
	}
	// RFC 768: the length covers header and data; a shorter IP payload
	// is a truncated datagram.
	if n := int(l4[4])<<8 | int(l4[5]); n >= 8 && off+n <= end {
		end = off + n
	} else {
		return h, false
	}
	h.sp, h.dp = uint16(l4[0])<<8|uint16(l4[1]), uint16(l4[2])<<8|uint16(l4[3])
	h.l4Off, h.l4End = off, end
	return h, true
}

// slowHeader decodes the packet with the layer decoders, counting what is
// not TCP.
func (t *Tracker) slowHeader(lt layers.LinkType, data []byte) (h header, ok bool) {
	res, v6 := t.dec.decode(lt, data)
	switch res {
	case decodedTCP:
	case decodedUDP:
		return t.slowUDP(data, v6)
	case decodedOther:
		t.count.OtherPackets++
		return h, false
	case decodedError:
		t.count.DecodeErrors++
		return h, false
	default:
		t.count.UnsupportedLink++
		return h, false
	}
	var src, dst netip.Addr
	if v6 {
		src, _ = netip.AddrFromSlice(t.dec.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(t.dec.ip6.DstIP)
	} else {
		src, _ = netip.AddrFromSlice(t.dec.ip4.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(t.dec.ip4.DstIP.To4())
	}
	tcp := &t.dec.tcp
	h.proto = protoTCP
	h.src, h.dst = src.As16(), dst.As16()
	h.sp, h.dp, h.seq = uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Seq
	for _, f := range []struct {
		on bool
		b  uint8
	}{{tcp.FIN, tcpFIN}, {tcp.SYN, tcpSYN}, {tcp.RST, tcpRST}, {tcp.ACK, tcpACK}} {
		if f.on {
			h.flags |= f.b
		}
	}
	// The decoded header and payload are slices of data: their place in
	// it is where the worker finds them again.
	h.l4Off = cap(data) - cap(tcp.Contents)
	h.l4End = h.l4Off + len(tcp.Contents) + len(tcp.Payload)
	return h, true
}

// slowUDP takes the UDP datagram the layer decoders found.
func (t *Tracker) slowUDP(data []byte, v6 bool) (h header, ok bool) {
	var src, dst netip.Addr
	if v6 {
		src, _ = netip.AddrFromSlice(t.dec.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(t.dec.ip6.DstIP)
	} else {
		src, _ = netip.AddrFromSlice(t.dec.ip4.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(t.dec.ip4.DstIP.To4())
	}
	u := &t.dec.udp
	h.proto = protoUDP
	h.src, h.dst = src.As16(), dst.As16()
	h.sp, h.dp = uint16(u.SrcPort), uint16(u.DstPort)
	h.l4Off = cap(data) - cap(u.Contents)
	h.l4End = h.l4Off + len(u.Contents) + len(u.Payload)
	return h, true
}
