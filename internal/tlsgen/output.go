package tlsgen

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// output collects packets of connections that overlap in time and writes them in timestamp
// order. Connections are generated in the order of their SYN, so once the connection starting
// at t is about to run, every packet before t is final and is written: the heap only holds the
// packets of connections still open at t, which keeps memory flat for large captures.
type output struct {
	h       pktHeap
	n       uint64
	bw      *bufio.Writer
	pcap    *pcapgo.Writer
	ng      *pcapgo.NgWriter
	damage  Damage
	step    time.Duration
	rng     *rand.Rand
	seen    int // packets that reached the writer, before SkipFirst
	written int
}

type pkt struct {
	at   time.Time
	n    uint64
	data []byte
}

type pktHeap []pkt

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].n < h[j].n
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(pkt)) }
func (h *pktHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = pkt{}
	*h = old[:len(old)-1]
	return p
}

func newOutput(w io.Writer, opt *Options, rng *rand.Rand) (*output, error) {
	o := &output{bw: bufio.NewWriterSize(w, 1<<16), damage: opt.Damage, step: opt.Step, rng: rng}
	snaplen := 262144
	if opt.Damage.Snaplen > 0 {
		snaplen = opt.Damage.Snaplen
	}
	if opt.Pcapng {
		intf := pcapgo.DefaultNgInterface
		intf.LinkType = layers.LinkTypeEthernet
		intf.SnapLength = uint32(snaplen)
		intf.Name = "tlsgen"
		ng, err := pcapgo.NewNgWriterInterface(o.bw, intf, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return nil, fmt.Errorf("tlsgen: pcapng header: %w", err)
		}
		o.ng = ng
		return o, nil
	}
	o.pcap = pcapgo.NewWriter(o.bw)
	if err := o.pcap.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("tlsgen: pcap header: %w", err)
	}
	return o, nil
}

// push queues a packet. data is owned by the output from then on. tcpData says the packet is
// a TCP segment with payload, the only kind that is reordered or retransmitted.
func (o *output) push(at time.Time, data []byte, tcpData bool) {
	d := &o.damage
	if d.Loss > 0 && o.rng.Float64() < d.Loss {
		return
	}
	if tcpData && d.Retransmit > 0 && o.rng.Float64() < d.Retransmit {
		o.add(at.Add(retransmitDelay), data)
	}
	if tcpData && d.Reorder > 0 && o.rng.Float64() < d.Reorder {
		at = at.Add(3*o.step + time.Microsecond)
	}
	o.add(at, data)
}

func (o *output) add(at time.Time, data []byte) {
	o.n++
	heap.Push(&o.h, pkt{at: at, n: o.n, data: data})
}

// flushBefore writes every queued packet earlier than t.
func (o *output) flushBefore(t time.Time) error {
	for len(o.h) > 0 && o.h[0].at.Before(t) {
		if err := o.write(heap.Pop(&o.h).(pkt)); err != nil {
			return err
		}
	}
	return nil
}

// close writes what is left and flushes the writer.
func (o *output) close() error {
	for len(o.h) > 0 {
		if err := o.write(heap.Pop(&o.h).(pkt)); err != nil {
			return err
		}
	}
	if o.ng != nil {
		if err := o.ng.Flush(); err != nil {
			return fmt.Errorf("tlsgen: write: %w", err)
		}
	}
	if err := o.bw.Flush(); err != nil {
		return fmt.Errorf("tlsgen: write: %w", err)
	}
	return nil
}

func (o *output) write(p pkt) error {
	o.seen++
	if o.seen <= o.damage.SkipFirst {
		return nil
	}
	data := p.data
	if s := o.damage.Snaplen; s > 0 && len(data) > s {
		data = data[:s]
	}
	ci := gopacket.CaptureInfo{Timestamp: p.at, CaptureLength: len(data), Length: len(p.data)}
	var err error
	if o.ng != nil {
		err = o.ng.WritePacket(ci, data)
	} else {
		err = o.pcap.WritePacket(ci, data)
	}
	if err != nil {
		return fmt.Errorf("tlsgen: write: %w", err)
	}
	o.written++
	return nil
}
