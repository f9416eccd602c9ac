package tlsgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The checks in this file read the capture back with gopacket, as the analyzer will.

type capPacket struct {
	ci  gopacket.CaptureInfo
	pkt gopacket.Packet
}

func readCapture(t *testing.T, data []byte, ng bool) []capPacket {
	t.Helper()
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r reader
	var lt layers.LinkType
	if ng {
		nr, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("pcapng: %v", err)
		}
		r, lt = nr, nr.LinkType()
	} else {
		pr, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("pcap: %v", err)
		}
		r, lt = pr, pr.LinkType()
	}
	if lt != layers.LinkTypeEthernet {
		t.Fatalf("link type %v, want Ethernet", lt)
	}
	var out []capPacket
	for {
		b, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", len(out)+1, err)
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		out = append(out, capPacket{ci: ci, pkt: p})
	}
	return out
}

// onesSum is the Internet checksum sum (RFC 1071) of b added to s, not yet complemented.
func onesSum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// transportOK checks the TCP or UDP checksum over the pseudo-header (RFC 793, RFC 8200 8.1).
func transportOK(src, dst netip.Addr, proto byte, seg []byte) bool {
	var s uint32
	s = onesSum(s, src.AsSlice())
	s = onesSum(s, dst.AsSlice())
	s += uint32(proto) + uint32(len(seg))
	s = onesSum(s, seg)
	return fold(s) == 0xffff
}

type flowKey struct{ src, dst netip.AddrPort }

type capFlow struct {
	client, server netip.AddrPort
	first, last    int // packet indexes
	clientData     []byte
	serverBytes    int
}

type capSummary struct {
	packets int
	flows   []*capFlow // TCP, in SYN order
	udp     int
}

// checkCapture verifies every packet of an undamaged capture: IPv4 header and TCP/UDP
// checksums, timestamps in order, every TCP direction starting with SYN and its sequence
// numbers following on without gap or overlap, ACKs never ahead of what the peer sent.
func checkCapture(t *testing.T, pkts []capPacket) capSummary {
	t.Helper()
	type dir struct {
		next   uint32
		ack    uint32
		hasAck bool
		fin    bool
	}
	dirs := make(map[flowKey]*dir)
	byKey := make(map[flowKey]*capFlow)
	var sum capSummary
	var last time.Time
	fail := func(i int, format string, args ...any) {
		t.Helper()
		t.Fatalf("packet %d: "+format, append([]any{i + 1}, args...)...)
	}
	for i, cp := range pkts {
		sum.packets++
		if cp.ci.Timestamp.Before(last) {
			fail(i, "timestamp %v before %v", cp.ci.Timestamp, last)
		}
		last = cp.ci.Timestamp
		if cp.ci.CaptureLength != cp.ci.Length {
			fail(i, "cut packet")
		}
		p := cp.pkt
		if el := p.ErrorLayer(); el != nil {
			fail(i, "decode: %v", el.Error())
		}
		var src, dst netip.Addr
		var l4 []byte
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			if fold(onesSum(0, ip.Contents)) != 0xffff {
				fail(i, "bad IPv4 header checksum")
			}
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			l4 = ip.Payload
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			l4 = ip.Payload
		default:
			fail(i, "no IP layer")
		}
		if u, ok := p.TransportLayer().(*layers.UDP); ok {
			if !transportOK(src, dst, 17, l4) {
				fail(i, "bad UDP checksum")
			}
			_ = u
			sum.udp++
			continue
		}
		tcp, ok := p.TransportLayer().(*layers.TCP)
		if !ok {
			fail(i, "neither TCP nor UDP")
		}
		if !transportOK(src, dst, 6, l4) {
			fail(i, "bad TCP checksum")
		}
		k := flowKey{netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))}
		d := dirs[k]
		if d == nil {
			if !tcp.SYN {
				fail(i, "%v: first packet is not a SYN", k)
			}
			d = &dir{next: tcp.Seq}
			dirs[k] = d
			if !tcp.ACK {
				f := &capFlow{client: k.src, server: k.dst, first: i}
				byKey[k] = f
				byKey[flowKey{k.dst, k.src}] = f
				sum.flows = append(sum.flows, f)
			} else if byKey[k] == nil {
				fail(i, "SYN-ACK without SYN")
			}
		}
		if d.fin {
			if len(tcp.Payload) > 0 || tcp.SYN || tcp.FIN {
				fail(i, "%v: sends after FIN", k)
			}
		}
		if tcp.Seq != d.next {
			fail(i, "%v: seq %d, want %d", k, tcp.Seq, d.next)
		}
		d.next += uint32(len(tcp.Payload))
		if tcp.SYN || tcp.FIN {
			d.next++
		}
		d.fin = d.fin || tcp.FIN
		if tcp.ACK {
			peer := dirs[flowKey{k.dst, k.src}]
			if peer == nil {
				fail(i, "%v: ACK before the peer's SYN", k)
			}
			if int32(tcp.Ack-peer.next) > 0 {
				fail(i, "%v: ack %d ahead of the peer's %d", k, tcp.Ack, peer.next)
			}
			if d.hasAck && int32(tcp.Ack-d.ack) < 0 {
				fail(i, "%v: ack went back", k)
			}
			d.ack, d.hasAck = tcp.Ack, true
		}
		f := byKey[k]
		f.last = i
		if k.src == f.client {
			f.clientData = append(f.clientData, tcp.Payload...)
		} else {
			f.serverBytes += len(tcp.Payload)
		}
	}
	for k, d := range dirs {
		if !d.fin {
			t.Errorf("%v: never sent FIN", k)
		}
	}
	return sum
}

// checkTruthMatchesCapture checks that the truth's connections are the capture's TLS flows,
// numbered by SYN order, and that the other flows are not TLS.
func checkTruthMatchesCapture(t *testing.T, conns []Conn, sum capSummary) (plain int) {
	t.Helper()
	tls := make(map[int]bool)
	for i, c := range conns {
		if c.ID != i+1 {
			t.Fatalf("conn %d has ID %d", i+1, c.ID)
		}
		if i > 0 && c.Start.Before(conns[i-1].Start) {
			t.Errorf("conn %d starts before conn %d", c.ID, c.ID-1)
		}
		if c.Flow < 1 || c.Flow > len(sum.flows) {
			t.Fatalf("conn %d: flow %d of %d", c.ID, c.Flow, len(sum.flows))
		}
		f := sum.flows[c.Flow-1]
		if f.client != c.Client || f.server != c.Server {
			t.Errorf("conn %d: flow %d is %v → %v, truth says %v → %v", c.ID, c.Flow, f.client, f.server, c.Client, c.Server)
		}
		if len(f.clientData) == 0 || f.clientData[0] != 22 || f.serverBytes == 0 {
			t.Errorf("conn %d: no TLS handshake on the wire", c.ID)
		}
		tls[c.Flow] = true
	}
	for i, f := range sum.flows {
		if tls[i+1] {
			continue
		}
		plain++
		if !bytes.HasPrefix(f.clientData, []byte("GET ")) {
			t.Errorf("flow %d is neither in the truth nor plain HTTP", i+1)
		}
	}
	return plain
}
