package flows

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsresume/tlsresume/verdict"
)

type countSink struct{ obs []int }

func (s *countSink) Observed(ob *verdict.Observation) { s.obs = append(s.obs, ob.ID) }
func (s *countSink) Tick(time.Time)                   {}

// A worker can be handed a batch after the one holding its close item:
// Close dispatches the close items one worker at a time, and one that
// fills a batch syncs every worker, so the last sync gives the first
// worker a second, empty, final batch. The merger once counted that as a
// second worker ending and returned before the other worker's events
// (seen as 0 or 49 of 80 connections on a generated capture, by chance of
// where the batches filled).
func TestMergerSecondFinalBatch(t *testing.T) {
	sink := &countSink{}
	m := &merger{sink: sink, results: make(chan result, 8), n: 2, marks: make([]uint64, 2)}
	ev := func(seq uint64, id int) event { return event{seq: seq, id: id, ob: &verdict.Observation{ID: id}} }
	m.results <- result{worker: 0, events: []event{ev(3, 1)}, mark: 10, final: true}
	m.results <- result{worker: 0, mark: 10, final: true}
	m.results <- result{worker: 1, events: []event{ev(2, 2), ev(9, 3)}, mark: 10, final: true}
	close(m.results)
	m.run()
	if want := []int{2, 1, 3}; len(sink.obs) != len(want) || sink.obs[0] != 2 || sink.obs[1] != 1 || sink.obs[2] != 3 {
		t.Fatalf("observations handed on %v, want %v (capture order)", sink.obs, want)
	}
}

// The same through the Tracker: connections still open at the end are
// decided by their worker's close item, and none is lost when worker 0's
// close item lands on the last slot of its batch.
func TestCloseFillsABatch(t *testing.T) {
	hello := clientHelloRecord(t)
	for fill := batchItems - 3; fill < batchItems; fill++ {
		sink := &countSink{}
		cfg := Defaults()
		cfg.Workers = 2
		tr := NewTracker(cfg, sink)
		const conns = 8
		for i := range conns {
			pkt := tcpPacket(t, uint16(40000+i), hello)
			tr.Packet(pkt, gopacket.CaptureInfo{Timestamp: time.Unix(1e9, 0), CaptureLength: len(pkt), Length: len(pkt)}, layers.LinkTypeEthernet, uint64(i+1))
		}
		shards := map[int]bool{}
		for _, e := range tr.flows {
			shards[e.worker] = true
		}
		if !shards[1] {
			t.Fatal("no connection on worker 1: pick other ports")
		}
		for len(tr.pending[0].items) < fill {
			tr.pending[0].items = append(tr.pending[0].items, item{kind: itemTick, seq: tr.seq, now: tr.now})
		}
		tr.Close()
		if len(sink.obs) != conns {
			t.Errorf("worker 0's batch holding %d items at Close: %d observations, want %d", fill, len(sink.obs), conns)
		}
	}
}

// clientHelloRecord is the first record a crypto/tls client sends.
func clientHelloRecord(t *testing.T) []byte {
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		cl := tls.Client(c, &tls.Config{ServerName: "example.test", InsecureSkipVerify: true})
		cl.Handshake() // fails when s closes
		c.Close()
	}()
	var hdr [5]byte
	if _, err := io.ReadFull(s, hdr[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr[:], body...)
}

// tcpPacket is an Ethernet frame with payload from 198.51.100.1:sport to
// 192.0.2.1:443.
func tcpPacket(t *testing.T, sport uint16, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{198, 51, 100, 1}, DstIP: net.IP{192, 0, 2, 1}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, Seq: 1000, ACK: true, PSH: true, Window: 65535}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
