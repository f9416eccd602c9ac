package flows

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decoder decodes link, network and transport headers with preallocated
// layers: one DecodingLayerParser per first layer, all sharing the same
// layer values, so decoding a packet allocates nothing.
type decoder struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6ext  layers.IPv6ExtensionSkipper
	tcp     layers.TCP
	udp     layers.UDP
	decoded []gopacket.LayerType

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
}

func newDecoder() *decoder {
	d := &decoder{decoded: make([]gopacket.LayerType, 0, 12), parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}}
	for _, first := range []gopacket.LayerType{
		layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6,
	} {
		p := gopacket.NewDecodingLayerParser(first,
			&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6, &d.ip6ext, &d.tcp, &d.udp)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// decodeResult says what a packet turned out to be.
type decodeResult uint8

const (
	decodedTCP decodeResult = iota + 1
	decodedUDP
	decodedOther       // ARP, ICMP, fragments, ...
	decodedError       // a header could not be decoded
	decodedUnsupported // link type we do not decode
)

// firstLayer maps a link type to the layer decoding starts with.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14:
		// Raw IP: the version nibble says which.
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return 0, false
}

// pppIP returns where the IP datagram of a PPP frame starts, and whether
// the frame holds one: RFC 1662's address and control bytes (0xff 0x03)
// may come first, then RFC 1661's protocol field, 0x0021 for IPv4 and
// 0x0057 for IPv6.
func pppIP(data []byte) (int, bool) {
	off := 0
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		off = 2
	}
	if len(data) < off+2 || data[off] != 0 || (data[off+1] != 0x21 && data[off+1] != 0x57) {
		return 0, false
	}
	return off + 2, true
}

// decode decodes one packet. For decodedTCP, d.tcp holds the segment and
// the addresses are in d.ip4 or d.ip6 (isV6 tells which).
func (d *decoder) decode(lt layers.LinkType, data []byte) (res decodeResult, isV6 bool) {
	if lt == layers.LinkTypePPP {
		off, ok := pppIP(data)
		if !ok {
			return decodedOther, false
		}
		lt, data = layers.LinkTypeRaw, data[off:]
	}
	first, ok := firstLayer(lt, data)
	if !ok {
		return decodedUnsupported, false
	}
	err := d.parsers[first].DecodeLayers(data, &d.decoded)
	sawIP, sawFrag := false, false
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			sawIP, isV6 = true, false
			// RFC 791: a fragment other than the first, or the first with
			// more to come, has no whole TCP header we can trust.
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				sawFrag = true
			}
		case layers.LayerTypeIPv6:
			sawIP, isV6 = true, true
		case layers.LayerTypeTCP:
			if sawIP && !sawFrag {
				return decodedTCP, isV6
			}
		case layers.LayerTypeUDP:
			return decodedUDP, isV6
		}
	}
	if err != nil {
		return decodedError, isV6
	}
	return decodedOther, isV6
}
