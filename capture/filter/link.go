package filter

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// EtherTypes the link layer is asked about.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherRARP = 0x8035
)

// BSD address families of IPv6 in DLT_NULL and DLT_LOOP headers: NetBSD,
// OpenBSD and BSD/OS use 24, FreeBSD 28, Darwin 30 (libpcap gencode.c).
var bsdAFInet6 = []uint32{24, 28, 30}

// linkKind says how the link layer tells the network protocol.
type linkKind int

const (
	lkEther linkKind = iota // an EtherType field at typeOff (Ethernet, Linux cooked v1 and v2)
	lkRaw                   // raw IP: the version nibble
	lkIPv4                  // IPv4 only
	lkIPv6                  // IPv6 only
	lkNull                  // a 4-byte address family in the byte order of the capturing host
	lkLoop                  // a 4-byte address family in network byte order
	lkProto                 // Linux SOCK_DGRAM socket: the protocol is ancillary (SKF_AD_PROTOCOL)
)

// link is where the headers are for one link type. The parser changes
// typeOff and nl as it reads "vlan" (as libpcap does, for everything after it).
type link struct {
	kind    linkKind
	name    string // for messages: "ETHERNET (1)"
	typeOff uint32 // lkEther: offset of the EtherType
	nl      uint32 // offset of the network-layer header
	ether   bool   // Ethernet framing: "vlan" is allowed
	socket  bool   // a Linux socket filter: VLAN tags are ancillary, packets untagged
}

// linkFor describes link type lt for a capture file or a pcap handle.
func linkFor(lt layers.LinkType) (link, error) {
	name := linkTypeName(lt)
	switch lt {
	case layers.LinkTypeEthernet:
		return link{kind: lkEther, name: name, typeOff: 12, nl: 14, ether: true}, nil
	case layers.LinkTypeLinuxSLL:
		return link{kind: lkEther, name: name, typeOff: 14, nl: 16}, nil
	case layers.LinkTypeLinuxSLL2:
		return link{kind: lkEther, name: name, typeOff: 0, nl: 20}, nil
	case layers.LinkTypeRaw, 12, 14:
		return link{kind: lkRaw, name: name}, nil
	case layers.LinkTypeIPv4:
		return link{kind: lkIPv4, name: name}, nil
	case layers.LinkTypeIPv6:
		return link{kind: lkIPv6, name: name}, nil
	case layers.LinkTypeNull:
		return link{kind: lkNull, name: name, nl: 4}, nil
	case layers.LinkTypeLoop:
		return link{kind: lkLoop, name: name, nl: 4}, nil
	}
	return link{}, fmt.Errorf("link type %s is not supported", name)
}

// linkTypeName is "1 (ETHERNET)" style, for messages.
func linkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeEthernet:
		return "ETHERNET (1)"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL (113)"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2 (276)"
	case layers.LinkTypeRaw:
		return "RAW (101)"
	case 12, 14:
		return fmt.Sprintf("RAW (%d)", lt)
	case layers.LinkTypeIPv4:
		return "IPV4 (228)"
	case layers.LinkTypeIPv6:
		return "IPV6 (229)"
	case layers.LinkTypeNull:
		return "NULL (0)"
	case layers.LinkTypeLoop:
		return "LOOP (108)"
	}
	return fmt.Sprintf("%d", lt)
}

// proto is the test that the network protocol is EtherType et.
func (l *link) proto(et uint16) node {
	switch l.kind {
	case lkEther:
		return eq(abs(l.typeOff, 2), uint32(et))
	case lkProto:
		return eq(ext(bpf.ExtProto), uint32(et))
	case lkRaw:
		switch et {
		case etherIPv4:
			return maskEq(abs(l.nl, 1), 0xf0, 0x40)
		case etherIPv6:
			return maskEq(abs(l.nl, 1), 0xf0, 0x60)
		}
		return never
	case lkIPv4:
		if et == etherIPv4 {
			return always
		}
		return never
	case lkIPv6:
		if et == etherIPv6 {
			return always
		}
		return never
	case lkNull, lkLoop:
		var afs []uint32
		switch et {
		case etherIPv4:
			afs = []uint32{2}
		case etherIPv6:
			afs = bsdAFInet6
		default:
			return never
		}
		n := never
		for _, af := range afs {
			n = or(n, eq(abs(0, 4), af))
			if l.kind == lkNull {
				// The capturing host's byte order is not known here:
				// accept both (the other reading is never a valid family).
				n = or(n, eq(abs(0, 4), swap32(af)))
			}
		}
		return n
	}
	return never
}

func swap32(v uint32) uint32 {
	return v>>24 | v>>8&0xff00 | v<<8&0xff0000 | v<<24
}
