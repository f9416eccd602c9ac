package flows_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/internal/quicgen"
	"github.com/tlsresume/tlsresume/sessions"
)

// firstInitial returns the client's first datagram of a quic-go
// handshake (a real Initial with a whole ClientHello).
func firstInitial(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := quicgen.Generate(context.Background(), &buf, nil, quicgen.Scenarios()["full"], quicgen.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
	u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatal("the first packet is not UDP")
	}
	return append([]byte(nil), u.Payload...)
}

// TestMemoryInitialFlood: 200k client Initials from spoofed sources (each a
// whole ClientHello that no server answers) stay within the memory the
// flow table's bound allows, and each is read.
func TestMemoryInitialFlood(t *testing.T) {
	n := 200000
	if testing.Short() || os.Getenv("TLSRESUME_LONG") == "" {
		n = 20000
	}
	payload := firstInitial(t)
	var got int // conn events; read after Close
	tr := flows.NewTracker(flows.Config{}, sessions.New(sessions.Config{EmitConn: func(*sessions.Conn) { got++ }}))
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before := liveHeap()
	for i := range n {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IP{10, byte(i >> 16), byte(i >> 8), byte(i)}, DstIP: net.IP{192, 0, 2, 1}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(1024 + i%60000), DstPort: 443}
		udp.SetNetworkLayerForChecksum(ip)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(10 * time.Microsecond)
		tr.Packet(buf.Bytes(), gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, layers.LinkTypeEthernet, 0)
	}
	tr.Sync()
	time.Sleep(100 * time.Millisecond)
	held := liveHeap() - before
	if out := os.Getenv("TLSRESUME_HEAP_PROFILE"); out != "" {
		if f, err := os.Create(out); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	tr.Close()
	c := tr.Counters()
	t.Logf("%d Initials: %d udp flows, %d evicted, %d given up, %.0f bytes per flow held, %d MB", n, c.UDPFlows, c.FlowsEvicted,
		c.UDPGivenUp, float64(held)/float64(min(n, 100000)), held>>20)
	if c.UDPFlows != uint64(n) {
		t.Errorf("%d QUIC flows, want %d", c.UDPFlows, n)
	}
	// Each Initial holds half a ClientHello (Go's post-quantum key share
	// makes it two packets): no hello, no conn event; every flow counted.
	if got != 0 || c.NoHello != uint64(n) {
		t.Errorf("%d conn events and %d flows without hello, want 0 and %d", got, c.NoHello, n)
	}
	// At most maxUDPReading (16384) are read at a time per worker: the
	// rest are given up, so the flood holds bounded memory.
	if held > 128<<20 {
		t.Errorf("%d MB held by %d unanswered Initials, want at most 128 MB", held>>20, n)
	}
}
