package flows

import (
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsresume/tlsresume/verdict"
)

// tickInterval is how often (capture time) reassembly skips over lost
// segments and idle flows end. Each tick walks the flows being read, so it
// is not done per packet.
const tickInterval = 5 * time.Second

// slowTicks: at most every slowTicks ticks, finished flows are forgotten
// and idle sessions end (they are many, and their timeouts are long);
// more often when FinishedTimeout or SessionTimeout is short.
const slowTicks = 12

// slowEvery is how many ticks apart the slow sweeps run.
func (c *Config) slowEvery() int {
	n := slowTicks
	for _, d := range []time.Duration{c.FinishedTimeout, c.SessionTimeout} {
		n = min(n, max(1, int(d/(2*tickInterval))))
	}
	return n
}

// syncEvery is how many packets the front reads between two hand-offs to
// the workers, at most: a hand-off also tells every worker how far the
// input has got, so that verdicts are printed in order without waiting
// long.
const syncEvery = 2048

// Sink receives, on the merger's goroutine and in capture order, every
// connection's observation and the slow ticks of capture time. Package
// sessions implements it.
type Sink interface {
	Observed(*verdict.Observation)
	Tick(now time.Time)
}

// Tracker is the pipeline (see the package documentation). Its methods
// are the front: Packet, Tick, Sync and Close must be called from one
// goroutine.
type Tracker struct {
	cfg      Config
	dec      *decoder
	flows    map[flowKey]*frontEntry
	order    []orderEntry // flows in order of creation, for eviction; stale entries are skipped
	count    Counters
	nextID   int
	gen      int64
	seq      uint64 // packets and ticks so far: the capture order
	now      time.Time
	lastTick time.Time
	ticks    int

	workers  []*worker
	pending  []*batch
	free     chan *batch
	since    int              // packets since the last hand-off
	finished chan *frontEntry // flows the workers finished
	results  chan result
	merged   chan struct{}
	closed   bool
}

// frontEntry is the front's record of one flow. Only the front goroutine
// reads or writes its fields; workers use its address as a name.
type frontEntry struct {
	id       int
	gen      int64
	worker   int
	last     time.Time
	finished bool // the front's copy of the worker's stateDone: drop its packets here
	// done is set by the worker the moment it finishes the flow, read by
	// the front on every packet: the packets that follow are dropped here,
	// before they are copied, without waiting for the next hand-off.
	done    atomic.Bool
	closing bool // FIN or RST seen
	hasSYN  bool // the client's SYN was seen
	synSeq  uint32
	sent    bool // its first packet went to the worker
}

// orderEntry names a flow in the eviction order; gen tells a stale entry
// (the flow was since removed or replaced) from a live one.
type orderEntry struct {
	key flowKey
	gen int64
}

// NewTracker returns a Tracker that hands its observations to sink. Its
// workers and merger run until Close.
func NewTracker(cfg Config, sink Sink) *Tracker {
	cfg.defaults()
	t := &Tracker{
		cfg: cfg, dec: newDecoder(), flows: map[flowKey]*frontEntry{},
		free: make(chan *batch, 4*cfg.Workers+4), finished: make(chan *frontEntry, 1<<14),
		results: make(chan result, 4*cfg.Workers), merged: make(chan struct{}),
	}
	for i := range cfg.Workers {
		w := newWorker(i, t)
		t.workers = append(t.workers, w)
		t.pending = append(t.pending, t.getBatch())
		go w.run()
	}
	m := &merger{sink: sink, results: t.results, n: cfg.Workers, marks: make([]uint64, cfg.Workers)}
	go func() {
		m.run()
		close(t.merged)
	}()
	return t
}

// Counters returns the counters. They are complete after Close.
func (t *Tracker) Counters() Counters {
	c := t.count
	if t.closed {
		for _, w := range t.workers {
			c.add(w.count)
		}
	}
	return c
}

// Packet takes one captured packet. frame is its number in the input as
// Wireshark counts it (1-based, before any filter); 0 makes it the count
// of packets handed to the Tracker. data is not kept after the call.
func (t *Tracker) Packet(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, frame uint64) {
	t.seq++
	t.count.Packets++
	if frame == 0 {
		frame = t.count.Packets
	}
	t.count.Bytes += uint64(ci.CaptureLength)
	if ci.CaptureLength < ci.Length {
		t.count.Truncated++
	}
	if ci.Timestamp.After(t.now) {
		t.now = ci.Timestamp
	}
	h, ok := fastHeader(lt, data)
	if !ok {
		h, ok = t.slowHeader(lt, data)
	}
	switch {
	case ok && h.proto == protoTCP:
		t.count.TCPPackets++
		t.tcp(data, ci, lt, frame, &h)
	case ok:
		t.count.UDPPackets++
		t.udp(data, ci, lt, frame, &h)
	}
	t.since++
	if t.since >= syncEvery {
		t.sync()
	} else if t.since&63 == 0 {
		// Learn of finished flows between hand-offs too: their packets
		// are then dropped here, before they are copied.
		t.noteFinished()
	}
	if t.now.Sub(t.lastTick) >= tickInterval {
		t.tick()
	}
}

// tcp gives the segment its flow, drops it when the flow is finished, and
// hands it to the flow's worker otherwise.
func (t *Tracker) tcp(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, frame uint64, h *header) {
	key := makeKey(protoTCP, h.src, h.dst, h.sp, h.dp)
	e := t.flows[key]
	syn := h.flags&tcpSYN != 0 && h.flags&tcpACK == 0
	id := 0 // the id of a restarted connection
	if e != nil && syn && e.closing {
		// A SYN after FIN or RST starts a new connection on the same
		// 4-tuple (port reuse). With the ISN of the flow's first SYN it is
		// the same connection tried again: it keeps its id, as in tshark.
		if e.hasSYN && e.synSeq == h.seq {
			id = e.id
		}
		t.end(e)
		e = nil
	}
	if e != nil && (e.finished || e.done.Load()) {
		e.last = ci.Timestamp
		if h.flags&(tcpFIN|tcpRST) != 0 {
			e.closing = true
			// The end of the connection decides whether a later SYN on
			// its 4-tuple is a new connection: keep it for -w.
			if t.cfg.Keep != nil {
				t.cfg.Keep(data, ci, lt)
			}
		}
		t.count.PacketsSkipped++
		return
	}
	if e == nil {
		// Every TCP 4-tuple gets a number, pure ACKs included, so that
		// ids follow tshark's tcp.stream.
		if len(t.flows) >= t.cfg.MaxFlows {
			t.evictOldest()
		}
		t.gen++
		if id == 0 {
			t.nextID++
			t.count.TCPFlows++
			id = t.nextID
		}
		e = &frontEntry{id: id, gen: t.gen, worker: key.shard(len(t.workers))}
		if syn {
			e.hasSYN, e.synSeq = true, h.seq
		}
		t.flows[key] = e
		t.order = append(t.order, orderEntry{key, t.gen})
	}
	e.last = ci.Timestamp
	if h.flags&(tcpFIN|tcpRST) != 0 {
		e.closing = true
	}
	first := !e.sent
	e.sent = true
	t.dispatch(e.worker, item{kind: itemPacket, seq: t.seq, frame: frame, ci: ci, lt: lt, hdr: *h, fe: e, first: first}, data)
}

// udp finds QUIC and DTLS flows by content. A datagram whose first bytes
// are neither a QUIC long header nor a DTLS record costs that look and
// nothing else: no flow is looked up (this also drops QUIC's short-header
// packets, which come once the handshake is over), unless the key log
// holds secrets (wantsShort). A flow starts at a client's first flight: a
// QUIC Initial or a DTLS ClientHello.
func (t *Tracker) udp(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, frame uint64, h *header) {
	p := h.udpPayload(data)
	kind := udpKindOf(p)
	if kind == udpOther {
		if !wantsShort(t.cfg.Keys, p) {
			return
		}
		// A QUIC short header, with a key log: to the worker of a flow
		// being read, which may be waiting for the server's tickets in
		// 1-RTT packets (quic_keys.go); never a flow's start.
		e := t.flows[makeKey(protoUDP, h.src, h.dst, h.sp, h.dp)]
		if e == nil || !e.sent {
			return
		}
		if e.finished {
			t.count.PacketsSkipped++
			return
		}
		e.last = ci.Timestamp
		t.dispatch(e.worker, item{kind: itemPacket, seq: t.seq, frame: frame, ci: ci, lt: lt, hdr: *h, fe: e}, data)
		return
	}
	key := makeKey(protoUDP, h.src, h.dst, h.sp, h.dp)
	e := t.flows[key]
	if e != nil && e.finished {
		e.last = ci.Timestamp
		t.count.PacketsSkipped++
		return
	}
	if e == nil {
		if !startsUDPFlow(kind, p) {
			return
		}
		if len(t.flows) >= t.cfg.MaxFlows {
			t.evictOldest()
		}
		t.gen++
		t.nextID++
		t.count.UDPFlows++
		e = &frontEntry{id: t.nextID, gen: t.gen, worker: key.shard(len(t.workers))}
		t.flows[key] = e
		t.order = append(t.order, orderEntry{key, t.gen})
	}
	e.last = ci.Timestamp
	first := !e.sent
	e.sent = true
	t.dispatch(e.worker, item{kind: itemPacket, seq: t.seq, frame: frame, ci: ci, lt: lt, hdr: *h, fe: e, first: first}, data)
}

// end tells the worker of e that its flow is over (evicted or replaced).
func (t *Tracker) end(e *frontEntry) {
	if e.sent {
		// The worker forgets its entry too (and finishes the connection
		// if it was still being read).
		t.dispatch(e.worker, item{kind: itemEnd, seq: t.seq, fe: e}, nil)
		e.sent = false
	}
	e.finished = true
}

// noteFinished marks the flows the workers finished, so that the front
// drops their packets from now on. It does not wait.
func (t *Tracker) noteFinished() {
	for {
		select {
		case e := <-t.finished:
			e.finished = true
		default:
			return
		}
	}
}

// evictOldest drops the oldest flow still tracked.
func (t *Tracker) evictOldest() {
	for len(t.order) > 0 {
		o := t.order[0]
		t.order = t.order[1:]
		e := t.flows[o.key]
		if e == nil || e.gen != o.gen {
			continue
		}
		t.end(e)
		delete(t.flows, o.key)
		t.count.FlowsEvicted++
		return
	}
}

// compactOrder drops stale entries from the eviction order so that it
// stays proportional to the flows tracked.
func (t *Tracker) compactOrder() {
	if len(t.order) < 2*len(t.flows)+1024 {
		return
	}
	live := make([]orderEntry, 0, len(t.flows)+1024)
	for _, o := range t.order {
		if e := t.flows[o.key]; e != nil && e.gen == o.gen {
			live = append(live, o)
		}
	}
	t.order = live
}

// tick runs every tickInterval of capture time: every worker skips over
// segments lost for longer than GapTimeout and ends the flows idle for
// IdleTimeout; every slowTicks ticks the front forgets flows idle for
// longer than IdleTimeout and FinishedTimeout together, and idle sessions
// end.
func (t *Tracker) tick() {
	t.lastTick = t.now
	t.ticks++
	t.seq++
	slow := t.ticks%t.cfg.slowEvery() == 0
	for i := range t.workers {
		t.dispatch(i, item{kind: itemTick, seq: t.seq, now: t.now, slow: slow}, nil)
	}
	if slow {
		for k, e := range t.flows {
			if t.now.Sub(e.last) > t.cfg.IdleTimeout+t.cfg.FinishedTimeout {
				t.end(e)
				delete(t.flows, k)
			}
		}
		t.compactOrder()
	}
	t.sync()
}

// Tick advances the clock without a packet: in live capture, flows and
// sessions expire by the wall clock even when no packet arrives.
func (t *Tracker) Tick(now time.Time) {
	if now.After(t.now) {
		t.now = now
	}
	if t.now.Sub(t.lastTick) >= tickInterval {
		t.tick()
	}
}

// Sync hands every buffered packet to the workers now, so that their
// verdicts come out without waiting for more input (live capture).
func (t *Tracker) Sync() { t.sync() }

// Close ends the input: every buffered segment is flushed, every
// connection still open gets its verdict, and every observation reaches
// the sink before Close returns.
func (t *Tracker) Close() {
	if t.closed {
		return
	}
	t.closeWorkers()
	<-t.merged
	t.closed = true
	t.flows = nil
	t.order = nil
}

// closeWorkers hands every worker its close item as the last item of its
// last batch. The items go straight into the batches, not through
// dispatch: one that filled a batch would sync every worker, and the sync
// here would then hand a worker a batch after its close item, a second
// end for the merger.
func (t *Tracker) closeWorkers() {
	t.seq++
	for i := range t.workers {
		t.pending[i].items = append(t.pending[i].items, item{kind: itemClose, seq: t.seq, now: t.now})
	}
	t.sync()
	for _, w := range t.workers {
		close(w.in)
	}
}

// dispatch appends an item (and a copy of its packet) to worker i's batch.
func (t *Tracker) dispatch(i int, it item, data []byte) {
	b := t.pending[i]
	if data != nil && t.cfg.Keep != nil {
		t.cfg.Keep(data, it.ci, it.lt)
	}
	if data != nil {
		it.off = len(b.data)
		b.data = append(b.data, data...)
		it.n = len(data)
	}
	b.items = append(b.items, it)
	if len(b.items) >= batchItems || len(b.data) >= batchBytes {
		t.sync()
	}
}

// sync hands every worker its batch, with how far the input has got.
func (t *Tracker) sync() {
	t.since = 0
	// Between hand-offs is often enough to learn which flows finished:
	// until then their packets are dropped by the workers instead.
	t.noteFinished()
	for i, w := range t.workers {
		b := t.pending[i]
		b.mark = t.seq
		w.in <- b
		t.pending[i] = t.getBatch()
	}
}

func (t *Tracker) getBatch() *batch {
	select {
	case b := <-t.free:
		b.items, b.data = b.items[:0], b.data[:0]
		return b
	default:
		return &batch{items: make([]item, 0, batchItems), data: make([]byte, 0, batchBytes+64<<10)}
	}
}
