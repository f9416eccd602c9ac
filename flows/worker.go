package flows

import (
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// worker reassembles and reads the handshakes of its shard of the flows,
// in its own goroutine, with its own decoder and reassembler.
type worker struct {
	idx    int
	cfg    *Config
	in     chan *batch
	free   chan<- *batch
	done   chan<- *frontEntry
	out    chan<- result
	dec    *decoder
	pool   *reassembly.StreamPool
	asm    *reassembly.Assembler
	flows  map[*frontEntry]*flowEntry
	active map[*flowEntry]struct{}
	count  Counters
	// closing is set at the end of input: reassembly's last flush ends
	// every connection.
	closing bool
	open    int // connections reassembly holds
	now     time.Time
	seq     uint64 // the item being handled: the order of verdicts
	phase   uint8
	events  []event
	cur     *flowEntry
	ctx     asmContext
}

// poolIdle is how long reassembly keeps a connection without packets.
const poolIdle = 10 * time.Second

// flowEntry is a worker's state for one TCP connection.
type flowEntry struct {
	fe       *frontEntry
	conn     *tlsConn
	finished bool
	netFlow  gopacket.Flow // unique per flow, so a reused 4-tuple is a new reassembly connection
	src, dst Endpoint
	last     time.Time
	syns     []savedSYN // before the first data: the SYNs seen
}

// savedSYN is a SYN kept until its flow carries data.
type savedSYN struct {
	lt      layers.LinkType
	ci      gopacket.CaptureInfo
	data    []byte
	fromSrc bool // sent by the flow's first sender
}

func (e *flowEntry) addrs() (Endpoint, Endpoint) { return e.src, e.dst }

type asmContext struct{ ci gopacket.CaptureInfo }

func (c *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// event is a verdict (or a tick) on its way to the merger, with its place
// in capture order.
type event struct {
	seq   uint64
	phase uint8 // 0 packet, 1 idle flows at a tick, 2 the tick itself, 3 end of input
	id    int
	conn  *Conn
	tick  *time.Time // phase 2: sessions expire at this time
	slow  bool
}

// result is what a worker hands the merger after a batch: its verdicts
// and how far it has got.
type result struct {
	worker int
	events []event
	mark   uint64
	final  bool
}

func newWorker(i int, t *Tracker) *worker {
	w := &worker{idx: i, cfg: &t.cfg, in: make(chan *batch, 4), free: t.free, done: t.finished, out: t.results,
		dec: newDecoder(), flows: map[*frontEntry]*flowEntry{}, active: map[*flowEntry]struct{}{}}
	w.pool = reassembly.NewStreamPool(w)
	w.asm = reassembly.NewAssembler(w.pool)
	w.asm.MaxBufferedPagesPerConnection = t.cfg.MaxBufferedPagesPerConn
	w.asm.MaxBufferedPagesTotal = t.cfg.MaxBufferedPages / t.cfg.Workers
	return w
}

// New implements reassembly.StreamFactory: the stream is the connection
// made for the packet being assembled.
func (w *worker) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	c := w.cur.conn
	c.ref = &streamRef{c: c, w: w}
	w.open++
	return c.ref
}

// maxOpen bounds the connections a worker's reassembly holds. Past it,
// reassembly lets go of every connection that waits for nothing (no
// segment queued out of order); those still being read come back with
// their next segment. Without it a burst of connections faster than
// poolIdle would hold them all.
const maxOpen = 16384

// trim lets reassembly go of idle connections when it holds too many.
func (w *worker) trim() {
	if w.open <= maxOpen {
		return
	}
	w.asm.FlushWithOptions(reassembly.FlushOptions{T: w.now.Add(-w.cfg.GapTimeout), TC: w.now})
}

func (w *worker) run() {
	final := false
	for b := range w.in {
		for i := range b.items {
			it := &b.items[i]
			w.seq, w.phase = it.seq, 0
			switch it.kind {
			case itemPacket:
				w.packet(it, b.data[it.off:it.off+it.n])
			case itemTick:
				w.tick(it)
			case itemEnd:
				w.end(it.fe)
			case itemClose:
				w.close()
				final = true
			}
		}
		w.trim()
		w.out <- result{worker: w.idx, events: w.events, mark: b.mark, final: final}
		w.events = nil
		select {
		case w.free <- b:
		default:
		}
	}
}

func (w *worker) packet(it *item, data []byte) {
	ts := it.ci.Timestamp
	if ts.After(w.now) {
		w.now = ts
	}
	e := w.flows[it.fe]
	if e == nil && !it.first {
		// Finished and forgotten here: the front had not heard yet.
		w.count.PacketsSkipped++
		return
	}
	if e != nil && e.finished {
		e.last = ts
		w.count.PacketsSkipped++
		return
	}
	res, v6 := w.dec.decode(it.lt, data)
	if res != decodedTCP {
		w.count.DecodeErrors++
		return
	}
	if e == nil {
		src, dst := endpointsOf(it.fe.src, it.fe.dst)
		e = &flowEntry{fe: it.fe, src: src, dst: dst,
			netFlow: gopacket.NewFlow(gopacket.EndpointType(1<<40+it.fe.gen), src.IP.AsSlice(), dst.IP.AsSlice())}
		w.flows[it.fe] = e
	}
	e.last = ts
	if e.conn == nil {
		// Until a segment carries data, a flow costs only its entry: the
		// SYNs are kept (raw, a few dozen bytes) and replayed to
		// reassembly with the first data, so that a SYN flood or a
		// port scan allocates no connection state.
		tcp := &w.dec.tcp
		if len(tcp.Payload) == 0 {
			// The first SYN of each direction, as reassembly would have
			// anchored the direction on it.
			fromSrc := uint16(tcp.SrcPort) == e.src.Port
			if tcp.SYN && !slices.ContainsFunc(e.syns, func(s savedSYN) bool { return s.fromSrc == fromSrc }) {
				e.syns = append(e.syns, savedSYN{lt: it.lt, ci: it.ci, data: slices.Clone(data), fromSrc: fromSrc})
			}
			return
		}
		e.conn = newTLSConn(w, e, it.fe.id, ts)
		w.active[e] = struct{}{}
		syns := e.syns
		e.syns = nil
		for _, sy := range syns {
			if r, sv6 := w.dec.decode(sy.lt, sy.data); r == decodedTCP {
				w.assemble(e, sy.ci, sv6)
			}
		}
		if r, _ := w.dec.decode(it.lt, data); r != decodedTCP {
			return
		}
	}
	w.assemble(e, it.ci, v6)
}

// assemble hands the segment in w.dec to reassembly as part of e.
func (w *worker) assemble(e *flowEntry, ci gopacket.CaptureInfo, v6 bool) {
	// The network flow of this packet, with the entry's unique type.
	nf := e.netFlow
	var sport uint16
	var sip []byte
	if v6 {
		sip = w.dec.ip6.SrcIP
	} else {
		sip = w.dec.ip4.SrcIP.To4()
	}
	sport = uint16(w.dec.tcp.SrcPort)
	if sport != e.src.Port || string(sip) != string(e.src.IP.AsSlice()) {
		nf = nf.Reverse()
	}
	w.cur = e
	w.ctx.ci = ci
	w.asm.AssembleWithContext(nf, &w.dec.tcp, &w.ctx)
	w.cur = nil
}

// connDone is called once per connection when its handshake is read (out
// non-nil) or it turned out not to be TLS.
func (w *worker) connDone(c *tlsConn, out *Conn) {
	e := c.flow
	e.finished = true
	e.conn = nil
	delete(w.active, e)
	select {
	case w.done <- e.fe:
	default: // the front will drop its packets later; the worker drops them meanwhile
	}
	if out != nil {
		w.events = append(w.events, event{seq: w.seq, phase: w.phase, id: out.ID, conn: out})
	}
}

func (w *worker) tick(it *item) {
	if it.now.After(w.now) {
		w.now = it.now
	}
	w.phase = 1
	// Reassembly lets go of connections idle for poolIdle: finished ones
	// are not fed any more, and those still being read come back when
	// their next segment does (streamRef.ReassemblyComplete keeps them).
	w.asm.FlushWithOptions(reassembly.FlushOptions{T: w.now.Add(-w.cfg.GapTimeout), TC: w.now.Add(-poolIdle)})
	for _, e := range w.sortedActive() {
		if w.now.Sub(e.last) > w.cfg.IdleTimeout {
			e.conn.finish()
		}
	}
	if it.slow {
		for k, e := range w.flows {
			idle := w.now.Sub(e.last)
			if (e.finished && idle > w.cfg.FinishedTimeout) || (e.conn == nil && !e.finished && idle > w.cfg.IdleTimeout) {
				delete(w.flows, k)
			}
		}
	}
	if w.idx == 0 {
		now := w.now
		w.events = append(w.events, event{seq: w.seq, phase: 2, tick: &now, slow: it.slow})
	}
}

// sortedActive returns the flows being read in order of id, so that what
// happens to them does not depend on map order.
func (w *worker) sortedActive() []*flowEntry {
	out := make([]*flowEntry, 0, len(w.active))
	for e := range w.active {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *flowEntry) int { return a.fe.id - b.fe.id })
	return out
}

// end finishes a flow the front evicted or replaced.
func (w *worker) end(fe *frontEntry) {
	if e := w.flows[fe]; e != nil {
		if e.conn != nil {
			e.conn.finish()
		}
		delete(w.flows, fe)
	}
}

// close flushes everything at the end of the input.
func (w *worker) close() {
	w.phase = 3
	w.closing = true
	w.asm.FlushAll()
	for _, e := range w.sortedActive() {
		e.conn.finish()
	}
	w.flows = nil
}

// merger puts the workers' verdicts into capture order, joins them into
// sessions and emits them.
type merger struct {
	cfg      *Config
	sessions *Sessions
	results  chan result
	n        int
	marks    []uint64
	buf      []event
	lastTick uint64
}

func (m *merger) run() {
	done := 0
	for r := range m.results {
		m.buf = append(m.buf, r.events...)
		m.marks[r.worker] = r.mark
		if r.final {
			m.marks[r.worker] = ^uint64(0)
			done++
		}
		m.emit(slices.Min(m.marks))
		if done == m.n {
			return
		}
	}
}

// emit hands on every event up to mark, in order.
func (m *merger) emit(mark uint64) {
	if len(m.buf) == 0 {
		return
	}
	sortEvents(m.buf)
	n := 0
	for n < len(m.buf) && m.buf[n].seq <= mark {
		n++
	}
	for _, ev := range m.buf[:n] {
		switch {
		case ev.conn != nil:
			m.sessions.Join(ev.conn)
			if m.cfg.Emit != nil {
				m.cfg.Emit(ev.conn)
			}
			if m.sessions.held() > m.cfg.MaxSessions+m.cfg.MaxSessions/8 {
				// Over the bound between two sweeps: the oldest end now.
				for _, s := range m.sessions.Expire(ev.conn.TS, 1<<62, m.cfg.MaxSessions) {
					if m.cfg.EmitSession != nil {
						m.cfg.EmitSession(s)
					}
				}
			}
		case ev.tick != nil && ev.slow && ev.seq != m.lastTick:
			m.lastTick = ev.seq
			for _, s := range m.sessions.Expire(*ev.tick, m.cfg.SessionTimeout, m.cfg.MaxSessions) {
				if m.cfg.EmitSession != nil {
					m.cfg.EmitSession(s)
				}
			}
		}
	}
	m.buf = append(m.buf[:0], m.buf[n:]...)
}
