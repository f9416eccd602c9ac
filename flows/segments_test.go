package flows_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
)

// This file holds the helpers of the synthetic-segment tests: a TCP
// connection given as its flights (the bytes one side sent before the
// other answered), cut into segments, turned into Ethernet/IPv4/TCP
// packets and fed to a Tracker.

// flight is what one side sent before the other answered.
type flight struct {
	server bool
	data   []byte
}

// connFlights is a TCP connection's payload as flights, in order.
type connFlights []flight

// encodeFlights packs flights for a fuzz input: per flight a side byte
// (0 client, 1 server), a two-byte length and the bytes.
func encodeFlights(fl connFlights) []byte {
	var b []byte
	for _, f := range fl {
		side := byte(0)
		if f.server {
			side = 1
		}
		d := f.data[:min(len(f.data), 0xffff)]
		b = append(b, side, byte(len(d)>>8), byte(len(d)))
		b = append(b, d...)
	}
	return b
}

// decodeFlights unpacks encodeFlights; a cut last flight keeps what is
// there. At most max bytes in total are taken.
func decodeFlights(b []byte, max int) connFlights {
	var fl connFlights
	total := 0
	for len(b) >= 3 && total < max {
		n := int(b[1])<<8 | int(b[2])
		side := b[0]&1 == 1
		b = b[3:]
		n = min(n, len(b), max-total)
		if n > 0 {
			fl = append(fl, flight{server: side, data: b[:n]})
		}
		total += n
		b = b[n:]
	}
	return fl
}

// flightsFromPcap reads an Ethernet pcap of clean TCP connections (no loss,
// no reordering, as captured on loopback or written by tlsgen) and returns
// each connection's flights, in order of first packet. The client is the
// side that sent the first packet. At most maxFlights flights are kept per
// connection.
func flightsFromPcap(tb testing.TB, path string, maxFlights int) []connFlights {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return flightsFromBytes(tb, b, maxFlights)
}

// flightsFromBytes is flightsFromPcap on the file's bytes (pcap or pcapng).
func flightsFromBytes(tb testing.TB, b []byte, maxFlights int) []connFlights {
	tb.Helper()
	var err error
	var r interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	if binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		r, err = pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		tb.Fatal(err)
	}
	type key struct {
		a, b string
		p, q layers.TCPPort
	}
	idx := map[key]int{}
	clients := []string{}
	var conns []connFlights
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || p.NetworkLayer() == nil {
			continue
		}
		src, dst := p.NetworkLayer().NetworkFlow().Endpoints()
		k := key{src.String(), dst.String(), tcp.SrcPort, tcp.DstPort}
		rk := key{dst.String(), src.String(), tcp.DstPort, tcp.SrcPort}
		i, ok := idx[k]
		if !ok {
			i, ok = idx[rk]
		}
		if !ok {
			i = len(conns)
			idx[k] = i
			conns = append(conns, nil)
			clients = append(clients, src.String()+":"+tcp.SrcPort.String())
		}
		if len(tcp.Payload) == 0 {
			continue
		}
		server := clients[i] != src.String()+":"+tcp.SrcPort.String()
		fl := conns[i]
		if n := len(fl); n > 0 && fl[n-1].server == server {
			fl[n-1].data = append(fl[n-1].data, tcp.Payload...)
			continue
		}
		if len(fl) >= maxFlights {
			continue
		}
		conns[i] = append(fl, flight{server: server, data: slices.Clone(tcp.Payload)})
	}
	var out []connFlights
	for _, c := range conns {
		if len(c) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// segment is one TCP segment of the synthetic connection: off is the
// offset in its direction's stream.
type segment struct {
	server bool
	off    int
	data   []byte
	syn    bool
	fin    bool
}

// conn4 is the 4-tuple of every synthetic connection.
var (
	clientIP, serverIP     = net.IP{198, 51, 100, 7}, net.IP{192, 0, 2, 7}
	clientPort, serverPort = layers.TCPPort(40007), layers.TCPPort(443)
	isn                    = [2]uint32{1000, 0xfffff000} // the server's wraps around
	segStart               = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// inOrder cuts flights into segments of at most mss bytes, in order,
// after a three-way handshake.
func inOrder(fl connFlights, mss int) []segment {
	segs := []segment{{syn: true}, {server: true, syn: true}}
	var off [2]int
	for _, f := range fl {
		s := side(f.server)
		for i := 0; i < len(f.data); i += mss {
			d := f.data[i:min(i+mss, len(f.data))]
			segs = append(segs, segment{server: f.server, off: off[s], data: d})
			off[s] += len(d)
		}
	}
	return segs
}

func side(server bool) int {
	if server {
		return 1
	}
	return 0
}

// packetizer serializes segments into Ethernet frames.
type packetizer struct {
	buf gopacket.SerializeBuffer
	eth layers.Ethernet
	ip  layers.IPv4
	tcp layers.TCP
}

func newPacketizer() *packetizer {
	return &packetizer{
		buf: gopacket.NewSerializeBuffer(),
		eth: layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			EthernetType: layers.EthernetTypeIPv4},
		ip: layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP},
	}
}

// packet returns the frame of s; it is valid until the next call.
func (z *packetizer) packet(tb testing.TB, s segment) []byte {
	return z.packetFor(tb, clientIP, clientPort, s)
}

// packetFor is packet for a connection from another client address.
func (z *packetizer) packetFor(tb testing.TB, clientIP net.IP, clientPort layers.TCPPort, s segment) []byte {
	src, dst, sp, dp := clientIP, serverIP, clientPort, serverPort
	if s.server {
		src, dst, sp, dp = dst, src, dp, sp
	}
	z.ip.SrcIP, z.ip.DstIP = src, dst
	seq := isn[side(s.server)] + 1 + uint32(s.off)
	if s.syn {
		seq--
	}
	z.tcp = layers.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: isn[1-side(s.server)] + 1, SYN: s.syn, FIN: s.fin,
		ACK: !s.syn || s.server, Window: 65535}
	if err := gopacket.SerializeLayers(z.buf, gopacket.SerializeOptions{FixLengths: true}, &z.eth, &z.ip, &z.tcp,
		gopacket.Payload(s.data)); err != nil {
		tb.Fatal(err)
	}
	return z.buf.Bytes()
}

// track feeds segments to a new Tracker, one millisecond apart, closes it
// and returns the verdicts and the counters.
func track(tb testing.TB, segs []segment, cfg flows.Config) ([]*sessions.Conn, flows.Counters) {
	tb.Helper()
	var out []*sessions.Conn
	tr := flows.NewTracker(cfg, sessions.New(sessions.Config{EmitConn: func(c *sessions.Conn) { out = append(out, c) }}))
	z := newPacketizer()
	for i, s := range segs {
		data := z.packet(tb, s)
		ci := gopacket.CaptureInfo{Timestamp: segStart.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}
		tr.Packet(data, ci, layers.LinkTypeEthernet, 0)
	}
	tr.Close()
	return out, tr.Counters()
}
