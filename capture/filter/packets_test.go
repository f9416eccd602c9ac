package filter

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// testPacket is a network-layer packet that wrap puts behind the headers of
// each link type.
type testPacket struct {
	name  string
	etype uint16   // EtherType of l3
	l3    []byte   // from the network header on
	vlans []uint16 // TPIDs of VLAN tags to put before it (Ethernet only), VID 10, 20, ...
	cut   int      // when > 0, keep only this many bytes of l3 (a snaplen cut)
}

// linkTypes are the link types the tests run on.
var linkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw,
	layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
}

// wrap builds the packet as captured on link type lt, and reports false when
// it cannot be carried there (ARP on raw IP, VLAN tags outside Ethernet).
func wrap(lt layers.LinkType, p testPacket) ([]byte, bool) {
	l3 := p.l3
	if p.cut > 0 {
		l3 = l3[:p.cut]
	}
	ip := p.etype == 0x0800 || p.etype == 0x86dd
	if len(p.vlans) > 0 && lt != layers.LinkTypeEthernet {
		return nil, false
	}
	var hdr []byte
	switch lt {
	case layers.LinkTypeEthernet:
		hdr = []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2}
		for i, tpid := range p.vlans {
			hdr = binary.BigEndian.AppendUint16(hdr, tpid)
			hdr = binary.BigEndian.AppendUint16(hdr, uint16(10*(i+1)))
		}
		hdr = binary.BigEndian.AppendUint16(hdr, p.etype)
	case layers.LinkTypeLinuxSLL:
		hdr = []byte{0, 0, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 2, 0, 0}
		hdr = binary.BigEndian.AppendUint16(hdr, p.etype)
	case layers.LinkTypeLinuxSLL2:
		hdr = binary.BigEndian.AppendUint16(nil, p.etype)
		hdr = append(hdr, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0x02, 0, 0, 0, 0, 2, 0, 0)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if !ip {
			return nil, false
		}
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if !ip {
			return nil, false
		}
		af := uint32(2)
		if p.etype == 0x86dd {
			af = 24
		}
		if lt == layers.LinkTypeNull {
			hdr = binary.LittleEndian.AppendUint32(nil, af) // as a little-endian host writes it
		} else {
			hdr = binary.BigEndian.AppendUint32(nil, af)
		}
	}
	return append(hdr, l3...), true
}

// serialize builds a packet from layers, with lengths and checksums fixed.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func v4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func v6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

// transport is a TCP, UDP or SCTP header (and a few payload bytes).
func transport(t testing.TB, ip gopacket.NetworkLayer, proto layers.IPProtocol, sport, dport uint16) []gopacket.SerializableLayer {
	payload := gopacket.Payload("hello")
	switch proto {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1, SYN: true, Window: 1000}
		tcp.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{tcp, payload}
	case layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		udp.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{udp, payload}
	}
	// SCTP common header: ports, verification tag, checksum.
	h := binary.BigEndian.AppendUint16(nil, sport)
	h = binary.BigEndian.AppendUint16(h, dport)
	h = append(h, 0, 0, 0, 1, 0, 0, 0, 0)
	return []gopacket.SerializableLayer{gopacket.Payload(h)}
}

var protoNames = map[layers.IPProtocol]string{layers.IPProtocolTCP: "tcp", layers.IPProtocolUDP: "udp", layers.IPProtocolSCTP: "sctp"}

// testPackets is the packet set of the table and cross-check tests: IPv4
// and IPv6 TCP, UDP and SCTP between a few addresses and ports, IPv4 with
// options and in fragments, IPv6 with a fragment header and a hop-by-hop
// header, ICMP, ARP, an unknown EtherType, VLAN and QinQ tags, cut packets.
func testPackets(t testing.TB) []testPacket {
	t.Helper()
	var ps []testPacket
	add := func(p testPacket) { ps = append(ps, p) }

	type flow struct {
		src, dst     string
		sport, dport uint16
	}
	v4flows := []flow{
		{"10.0.0.1", "1.2.3.4", 40000, 443},
		{"1.2.3.4", "10.0.0.1", 443, 40000},
		{"10.1.2.3", "192.168.1.10", 8443, 53},
		{"192.168.1.10", "10.1.2.3", 53, 8443},
		{"172.16.5.4", "10.0.0.1", 450, 80},
		{"10.0.0.1", "10.0.0.2", 500, 400},
		{"192.168.1.200", "8.8.8.8", 1024, 501},
		{"10.0.0.1", "10.1.2.3", 443, 443},
	}
	protos := []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolSCTP}
	for _, f := range v4flows {
		for _, pr := range protos {
			ip := v4(f.src, f.dst, pr)
			ls := append([]gopacket.SerializableLayer{ip}, transport(t, ip, pr, f.sport, f.dport)...)
			add(testPacket{name: fmt.Sprintf("v4 %s %s:%d > %s:%d", protoNames[pr], f.src, f.sport, f.dst, f.dport),
				etype: 0x0800, l3: serialize(t, ls...)})
		}
	}
	v6flows := []flow{
		{"2001:db8::1", "2001:db8:0:1::2", 40000, 443},
		{"2001:db8:0:1::2", "2001:db8::1", 443, 40000},
		{"fe80::1", "2001:db9::5", 53, 8443},
		{"::1", "::1", 450, 80},
		{"2001:db8:1::7", "fd00::1", 500, 400},
	}
	for _, f := range v6flows {
		for _, pr := range protos {
			ip := v6(f.src, f.dst, pr)
			ls := append([]gopacket.SerializableLayer{ip}, transport(t, ip, pr, f.sport, f.dport)...)
			add(testPacket{name: fmt.Sprintf("v6 %s [%s]:%d > [%s]:%d", protoNames[pr], f.src, f.sport, f.dst, f.dport),
				etype: 0x86dd, l3: serialize(t, ls...)})
		}
	}

	// IPv4 with options: the transport header starts at 24.
	{
		ip := v4("10.0.0.1", "1.2.3.4", layers.IPProtocolTCP)
		ip.IHL = 6
		ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		add(testPacket{name: "v4 options tcp 10.0.0.1:40000 > 1.2.3.4:443", etype: 0x0800,
			l3: serialize(t, append([]gopacket.SerializableLayer{ip}, transport(t, ip, layers.IPProtocolTCP, 40000, 443)...)...)})
	}
	// IPv4 fragments: the first carries the TCP header, a later one only
	// payload bytes that would read as port 443 in both port fields.
	{
		ip := v4("10.0.0.1", "1.2.3.4", layers.IPProtocolTCP)
		ip.Flags = layers.IPv4MoreFragments
		add(testPacket{name: "v4 first fragment tcp 10.0.0.1:40000 > 1.2.3.4:443", etype: 0x0800,
			l3: serialize(t, append([]gopacket.SerializableLayer{ip}, transport(t, ip, layers.IPProtocolTCP, 40000, 443)...)...)})
		ip = v4("10.0.0.1", "1.2.3.4", layers.IPProtocolTCP)
		ip.FragOffset = 3
		add(testPacket{name: "v4 later fragment tcp 10.0.0.1 > 1.2.3.4 (bytes like port 443)", etype: 0x0800,
			l3: serialize(t, ip, gopacket.Payload{0x01, 0xbb, 0x01, 0xbb, 0, 0, 0, 0})})
		ip = v4("1.2.3.4", "10.0.0.1", layers.IPProtocolUDP)
		ip.Flags = layers.IPv4DontFragment
		add(testPacket{name: "v4 DF udp 1.2.3.4:443 > 10.0.0.1:53", etype: 0x0800,
			l3: serialize(t, append([]gopacket.SerializableLayer{ip}, transport(t, ip, layers.IPProtocolUDP, 443, 53)...)...)})
	}
	// IPv6 with a fragment header, and with a hop-by-hop header, before TCP.
	{
		ip := v6("2001:db8::1", "2001:db8:0:1::2", layers.IPProtocolIPv6Fragment)
		frag := &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, MoreFragments: true, Identification: 7}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1, SYN: true}
		tcp.SetNetworkLayerForChecksum(ip)
		add(testPacket{name: "v6 fragment header tcp [2001:db8::1]:40000 > [2001:db8:0:1::2]:443", etype: 0x86dd,
			l3: serialize(t, ip, frag, tcp)})
		ip = v6("2001:db8::1", "2001:db8:0:1::2", layers.IPProtocolIPv6HopByHop)
		hop := &layers.IPv6HopByHop{}
		hop.NextHeader = layers.IPProtocolTCP
		hop.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
		tcp = &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1, SYN: true}
		tcp.SetNetworkLayerForChecksum(ip)
		add(testPacket{name: "v6 hop-by-hop tcp [2001:db8::1]:40000 > [2001:db8:0:1::2]:443", etype: 0x86dd,
			l3: serialize(t, ip, hop, tcp)})
	}
	// ICMP and ICMPv6.
	{
		ip := v4("10.0.0.1", "8.8.8.8", layers.IPProtocolICMPv4)
		add(testPacket{name: "v4 icmp 10.0.0.1 > 8.8.8.8", etype: 0x0800,
			l3: serialize(t, ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1})})
		ip6 := v6("2001:db8::1", "2001:db8::2", layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		icmp.SetNetworkLayerForChecksum(ip6)
		add(testPacket{name: "v6 icmp6 2001:db8::1 > 2001:db8::2", etype: 0x86dd, l3: serialize(t, ip6, icmp, gopacket.Payload{0, 1, 0, 1})})
	}
	// ARP and RARP between IPv4 addresses; an unknown EtherType.
	for _, a := range []struct{ src, dst string }{{"10.0.0.1", "10.0.0.2"}, {"192.168.1.10", "1.2.3.4"}} {
		arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: []byte{2, 0, 0, 0, 0, 1}, SourceProtAddress: net.ParseIP(a.src).To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(a.dst).To4()}
		l3 := serialize(t, arp)
		add(testPacket{name: fmt.Sprintf("arp %s > %s", a.src, a.dst), etype: 0x0806, l3: l3})
		add(testPacket{name: fmt.Sprintf("rarp %s > %s", a.src, a.dst), etype: 0x8035, l3: l3})
	}
	add(testPacket{name: "lldp", etype: 0x88cc, l3: make([]byte, 60)})

	// VLAN: 802.1Q (VID 10), QinQ (802.1ad VID 10 then 802.1Q VID 20),
	// 0x9100 (VID 10), each around IPv4 and IPv6 TCP to port 443.
	base4, base6 := ps[0], ps[len(v4flows)*len(protos)]
	for _, tags := range [][]uint16{{0x8100}, {0x88a8, 0x8100}, {0x9100}} {
		for _, b := range []testPacket{base4, base6} {
			p := b
			p.vlans = tags
			p.name = fmt.Sprintf("vlan %x %s", tags, b.name)
			add(p)
		}
	}

	// Cut by the snap length: inside the transport header, and inside the
	// IPv4 header.
	for _, b := range []testPacket{base4, base6} {
		p := b
		p.cut = len(b.l3) - len(b.l3)/2
		if b.etype == 0x86dd {
			p.cut = 41
		} else {
			p.cut = 21
		}
		p.name = fmt.Sprintf("cut at %d %s", p.cut, b.name)
		add(p)
		p.cut = 10
		p.name = fmt.Sprintf("cut at %d %s", p.cut, b.name)
		add(p)
	}
	return ps
}

// packetNamed finds a test packet by name.
func packetNamed(t testing.TB, ps []testPacket, name string) testPacket {
	t.Helper()
	for _, p := range ps {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("no test packet %q", name)
	return testPacket{}
}
