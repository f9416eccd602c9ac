package quicgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capture writes datagrams as Ethernet / IPv4 or IPv6 / UDP frames to a classic pcap.
type capture struct {
	w    *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions
	ipid map[netip.Addr]uint16
	n    int
}

const snaplen = 65535

func newCapture(w io.Writer) (*capture, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("quicgen: pcap header: %w", err)
	}
	return &capture{
		w:    pw,
		buf:  gopacket.NewSerializeBuffer(),
		opts: gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ipid: make(map[netip.Addr]uint16),
	}, nil
}

func (c *capture) write(at time.Time, d datagram) error {
	src, dst := d.src.Addr(), d.dst.Addr()
	eth := &layers.Ethernet{SrcMAC: macFor(src), DstMAC: macFor(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(d.src.Port()), DstPort: layers.UDPPort(d.dst.Port())}
	var ip gopacket.SerializableLayer
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		id := c.ipid[src]
		c.ipid[src] = id + 1
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: id, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolUDP, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		if err := udp.SetNetworkLayerForChecksum(v4); err != nil {
			return fmt.Errorf("quicgen: %w", err)
		}
		ip = v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		if err := udp.SetNetworkLayerForChecksum(v6); err != nil {
			return fmt.Errorf("quicgen: %w", err)
		}
		ip = v6
	}
	if err := gopacket.SerializeLayers(c.buf, c.opts, eth, ip, udp, gopacket.Payload(d.data)); err != nil {
		return fmt.Errorf("quicgen: serialize: %w", err)
	}
	b := c.buf.Bytes() // written before the buffer is reused
	ci := gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(b), Length: len(b)}
	if err := c.w.WritePacket(ci, b); err != nil {
		return fmt.Errorf("quicgen: write: %w", err)
	}
	c.n++
	return nil
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
