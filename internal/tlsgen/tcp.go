package tlsgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// flowSpec is what the TCP writer needs to know about one connection.
type flowSpec struct {
	client, server netip.AddrPort
	isn            [2]uint32
	start          time.Time // the SYN
	mss            int       // announced in SYN and SYN-ACK
	seg            int       // largest payload per segment (mss, or 1 for one-byte segments)
	half, step     time.Duration
}

// segment is one TCP packet before serialization.
type segment struct {
	from     int
	at       time.Time
	payload  []byte // shared with the pipe's event; never modified
	syn, fin bool
	pureAck  bool
	psh      bool // last segment of a write
	seq, ack uint32
	hasAck   bool
}

// seqLen is how much sequence space the segment takes.
func (s *segment) seqLen() uint32 {
	n := uint32(len(s.payload))
	if s.syn || s.fin {
		n++
	}
	return n
}

// tcpSegments lays the recorded events of one connection out as TCP packets: the three-way
// handshake, data in segments of at most f.seg bytes, an ACK from the receiver for every second
// segment and for the last one of each write, a FIN from each side that closed and the ACK of it.
// The result is in timestamp order per direction, with sequence and acknowledgment numbers set.
func tcpSegments(f *flowSpec, events []event) [][]segment {
	var per [2][]segment
	t0 := f.start
	per[sideClient] = append(per[sideClient], segment{from: sideClient, at: t0, syn: true})
	per[sideServer] = append(per[sideServer], segment{from: sideServer, at: t0.Add(f.half), syn: true, hasAck: true})
	per[sideClient] = append(per[sideClient], segment{from: sideClient, at: t0.Add(2 * f.half), hasAck: true, pureAck: true})

	ackDelay := f.step / 2
	if ackDelay < time.Microsecond {
		ackDelay = time.Microsecond
	}
	for _, e := range events {
		peer := 1 - e.from
		if e.fin {
			per[e.from] = append(per[e.from], segment{from: e.from, at: e.at, fin: true, hasAck: true})
			per[peer] = append(per[peer], segment{from: peer, at: e.at.Add(f.half + ackDelay), hasAck: true, pureAck: true})
			continue
		}
		n := (len(e.data) + f.seg - 1) / f.seg
		for i := range n {
			lo, hi := i*f.seg, min((i+1)*f.seg, len(e.data))
			at := e.at.Add(time.Duration(i) * f.step)
			per[e.from] = append(per[e.from], segment{from: e.from, at: at, payload: e.data[lo:hi], hasAck: true, psh: i == n-1})
			if i%2 == 1 || i == n-1 {
				per[peer] = append(per[peer], segment{from: peer, at: at.Add(f.half + ackDelay), hasAck: true, pureAck: true})
			}
		}
	}

	for side := range per {
		s := per[side]
		// Stable: a side's own packets keep their program order on equal times.
		slices.SortStableFunc(s, func(a, b segment) int { return a.at.Compare(b.at) })
		// Strictly increasing microseconds, so that a classic pcap keeps the order.
		for i := 1; i < len(s); i++ {
			if min := s[i-1].at.Add(time.Microsecond); s[i].at.Before(min) {
				s[i].at = min
			}
		}
		seq := f.isn[side]
		for i := range s {
			s[i].seq = seq
			seq += s[i].seqLen()
		}
	}
	// ACK numbers: everything the peer sent that has arrived by then.
	for side := range per {
		peer := per[1-side]
		j := 0
		ack := f.isn[1-side]
		for i := range per[side] {
			s := &per[side][i]
			for j < len(peer) && !peer[j].at.Add(f.half).After(s.at) {
				ack = peer[j].seq + peer[j].seqLen()
				j++
			}
			s.ack = ack
		}
	}
	// A pure ACK that acknowledges nothing new is dropped (two FINs crossing, say).
	for side := range per {
		var last uint32
		seen := false
		per[side] = slices.DeleteFunc(per[side], func(s segment) bool {
			if s.pureAck && seen && s.ack == last {
				return true
			}
			if s.hasAck {
				last, seen = s.ack, true
			}
			return false
		})
	}
	return per[:]
}

// macFor makes a stable locally administered MAC address for an IP address.
func macFor(a netip.Addr) net.HardwareAddr {
	h := fnv.New32a()
	b := a.As16()
	h.Write(b[:])
	m := make(net.HardwareAddr, 6)
	m[0] = 0x02
	binary.BigEndian.PutUint32(m[2:], h.Sum32())
	return m
}

// serializer turns segments and UDP datagrams into Ethernet frames.
type serializer struct {
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions
	ipid map[netip.Addr]uint16
}

func newSerializer() *serializer {
	return &serializer{
		buf:  gopacket.NewSerializeBuffer(),
		opts: gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ipid: make(map[netip.Addr]uint16),
	}
}

// network returns the link and network layers for a packet from src to dst.
func (z *serializer) network(src, dst netip.Addr, proto layers.IPProtocol) (*layers.Ethernet, gopacket.NetworkLayer, gopacket.SerializableLayer) {
	eth := &layers.Ethernet{SrcMAC: macFor(src), DstMAC: macFor(dst)}
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		id := z.ipid[src]
		z.ipid[src] = id + 1
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: id, Flags: layers.IPv4DontFragment,
			Protocol: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		return eth, ip, ip
	}
	eth.EthernetType = layers.EthernetTypeIPv6
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
		SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	return eth, ip, ip
}

// tcp serializes one segment of flow f. The returned slice is freshly allocated.
func (z *serializer) tcp(f *flowSpec, s *segment) ([]byte, error) {
	src, dst := f.client, f.server
	if s.from == sideServer {
		src, dst = dst, src
	}
	eth, nl, ip := z.network(src.Addr(), dst.Addr(), layers.IPProtocolTCP)
	t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: s.seq, SYN: s.syn, FIN: s.fin, ACK: s.hasAck, PSH: s.psh, Window: 502}
	if s.hasAck {
		t.Ack = s.ack
	}
	if s.syn {
		t.Window = 64240
		var mss [2]byte
		binary.BigEndian.PutUint16(mss[:], uint16(f.mss))
		t.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionData: mss[:]},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{7}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindSACKPermitted},
		}
	}
	if err := t.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, fmt.Errorf("tlsgen: %w", err)
	}
	return z.serialize(eth, ip, t, gopacket.Payload(s.payload))
}

// udp serializes one datagram.
func (z *serializer) udp(src, dst netip.AddrPort, payload []byte) ([]byte, error) {
	eth, nl, ip := z.network(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := u.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, fmt.Errorf("tlsgen: %w", err)
	}
	return z.serialize(eth, ip, u, gopacket.Payload(payload))
}

func (z *serializer) serialize(ls ...gopacket.SerializableLayer) ([]byte, error) {
	if err := gopacket.SerializeLayers(z.buf, z.opts, ls...); err != nil {
		return nil, fmt.Errorf("tlsgen: serialize: %w", err)
	}
	return slices.Clone(z.buf.Bytes()), nil
}
