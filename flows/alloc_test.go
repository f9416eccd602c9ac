package flows

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsresume/tlsresume/verdict"
)

// segment builds an Ethernet/IPv4/TCP packet.
func segment(t testing.TB, sport, dport uint16, seq uint32, flags string, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	if sport == 443 {
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Window: 65535}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// TestFinishedFlowAllocs pins the per-packet cost of a connection whose
// verdict is known: the front drops its packets without allocating.
func TestFinishedFlowAllocs(t *testing.T) {
	tr := NewTracker(Config{}, nopSink{})
	defer tr.Close()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pkt := func(b []byte) {
		tr.Packet(b, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, layers.LinkTypeEthernet, 0)
	}
	pkt(segment(t, 40000, 443, 1000, "S", nil))
	// Not TLS: the client sends 16 KiB of text, the flow is given up.
	text := make([]byte, 1400)
	for i := range text {
		text[i] = 'a'
	}
	seq := uint32(1001)
	for range 13 {
		pkt(segment(t, 40000, 443, seq, "A", text))
		seq += uint32(len(text))
	}
	tr.Sync()
	// Wait until the worker has told the front.
	deadline := time.Now().Add(5 * time.Second)
	key := makeKey(protoTCP, [16]byte{10: 0xff, 11: 0xff, 12: 192, 14: 2, 15: 1}, [16]byte{10: 0xff, 11: 0xff, 12: 192, 14: 2, 15: 2}, 40000, 443)
	for {
		tr.noteFinished()
		if e := tr.flows[key]; e != nil && e.finished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flow was never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	data := segment(t, 40000, 443, seq, "A", text)
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
	skipped := tr.count.PacketsSkipped
	allocs := testing.AllocsPerRun(1000, func() {
		tr.Packet(data, ci, layers.LinkTypeEthernet, 0)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet of a finished flow, want 0", allocs)
	}
	if tr.count.PacketsSkipped-skipped < 1000 {
		t.Errorf("only %d packets dropped by the front", tr.count.PacketsSkipped-skipped)
	}
}

// BenchmarkFinishedFlow is the per-packet cost of the common case: a packet
// of a connection whose handshake has been read.
func BenchmarkFinishedFlow(b *testing.B) {
	tr := NewTracker(Config{}, nopSink{})
	defer tr.Close()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	data := segment(b, 40000, 443, 1, "A", make([]byte, 1400))
	key := makeKey(protoTCP, [16]byte{10: 0xff, 11: 0xff, 12: 192, 14: 2, 15: 1}, [16]byte{10: 0xff, 11: 0xff, 12: 192, 14: 2, 15: 2}, 40000, 443)
	tr.flows[key] = &frontEntry{id: 1, finished: true}
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		tr.Packet(data, ci, layers.LinkTypeEthernet, 0)
	}
}

// nopSink takes observations and drops them.
type nopSink struct{}

func (nopSink) Observed(*verdict.Observation) {}
func (nopSink) Tick(time.Time)                {}
