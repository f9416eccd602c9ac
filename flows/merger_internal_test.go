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

// Connections still open at the end are decided by their worker's close
// item, and none is lost when worker 0's close item lands on the last
// slot of its batch. Close once dispatched its close items one worker at a
// time; the one that filled a batch synced every worker, the last sync
// then gave worker 0 a second, empty, final batch, and the merger, counting
// two ends, returned before worker 1's last events (seen as 0 or 49 of 80
// connections on a generated capture, by chance of where batches filled).
func TestCloseFillsABatch(t *testing.T) {
	t.Run("batches", closeBatches)
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

// closeBatches checks what Close hands the workers, whatever the timing:
// each worker's last batch ends with its close item, and no batch follows
// it. The Tracker is built without its goroutines, so the test reads the
// batches itself.
func closeBatches(t *testing.T) {
	for fill := batchItems - 3; fill <= batchItems; fill++ {
		for full := range 2 {
			tr := &Tracker{cfg: Defaults(), free: make(chan *batch, 16), finished: make(chan *frontEntry, 16)}
			ins := make([]chan *batch, 2)
			for i := range ins {
				w := newWorker(i, tr)
				ins[i] = make(chan *batch, 8)
				w.in = ins[i]
				tr.workers = append(tr.workers, w)
				tr.pending = append(tr.pending, tr.getBatch())
			}
			tr.seq++
			for len(tr.pending[full].items) < fill {
				tr.pending[full].items = append(tr.pending[full].items, item{kind: itemTick, seq: tr.seq, now: tr.now})
			}
			tr.closeWorkers()
			for i, in := range ins {
				var last *batch
				for b := range in {
					if last != nil && len(last.items) > 0 && last.items[len(last.items)-1].kind == itemClose {
						t.Fatalf("worker %d's batch holding %d items: a batch after worker %d's close item", full, fill, i)
					}
					last = b
				}
				if last == nil || len(last.items) == 0 || last.items[len(last.items)-1].kind != itemClose {
					t.Fatalf("worker %d's batch holding %d items: worker %d's last batch does not end with its close item", full, fill, i)
				}
			}
		}
	}
}
