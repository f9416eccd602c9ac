package flows

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// worker reads the handshakes of its shard of the flows, in its own
// goroutine: it owns the conns of its flows, their transports' state and
// their handshake readers. It takes batches from the front and hands its
// observations, with how far it has got, to the merger.
type worker struct {
	idx  int
	cfg  *Config
	in   chan *batch
	free chan<- *batch
	done chan<- *frontEntry
	out  chan<- result

	count  Counters
	flows  map[*frontEntry]*conn
	active map[*conn]struct{} // connections being read
	tcp    *tcpTransport
	udp    *udpTransport

	closing bool      // the end of input is being flushed
	now     time.Time // capture time: the latest packet or tick seen
	seq     uint64    // the item being handled: the order of verdicts
	phase   uint8
	events  []event
}

// connState is where a connection is in its reading.
type connState uint8

const (
	stateWaiting connState = iota // no payload yet: only the SYNs are kept
	stateReading                  // its transport and handshake reader are reading it
	stateDone                     // verdict given, or not TLS: its packets are dropped
)

// conn is a worker's record of one flow.
type conn struct {
	w     *worker
	fe    *frontEntry
	id    int
	state connState
	// The flow's first sender and its peer, as the front's header holds
	// them (IPv4 in IPv6-mapped form).
	src16, dst16 [16]byte
	sp, dp       uint16
	last         time.Time
	hs           *handshake // while reading
	stream       connStream // the transport's state, while reading
}

func newWorker(i int, t *Tracker) *worker {
	w := &worker{idx: i, cfg: &t.cfg, in: make(chan *batch, 4), free: t.free, done: t.finished, out: t.results,
		flows: map[*frontEntry]*conn{}, active: map[*conn]struct{}{}}
	w.tcp = newTCPTransport(w)
	w.udp = &udpTransport{w: w}
	return w
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
		w.tcp.trim()
		w.udp.trim()
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
	c := w.flows[it.fe]
	if c == nil && !it.first {
		// Finished, and forgotten here at once (done1): the front had
		// not heard yet.
		w.count.PacketsSkipped++
		return
	}
	var tr transport = w.tcp
	if it.hdr.proto == protoUDP {
		tr = w.udp
	}
	if !tr.decode(it, data) {
		w.count.DecodeErrors++
		return
	}
	if c == nil {
		// The front hands on a flow's first packet first: its sender is
		// the flow's first sender.
		c = &conn{w: w, fe: it.fe, id: it.fe.id, src16: it.hdr.src, dst16: it.hdr.dst, sp: it.hdr.sp, dp: it.hdr.dp}
		w.flows[it.fe] = c
	}
	c.last = ts
	tr.packet(c, it, data)
}

// endpoints returns the flow's first sender and its peer.
func (c *conn) endpoints() (src, dst verdict.Endpoint) {
	return verdict.Endpoint{IP: netip.AddrFrom16(c.src16).Unmap(), Port: c.sp},
		verdict.Endpoint{IP: netip.AddrFrom16(c.dst16).Unmap(), Port: c.dp}
}

// read starts reading c's handshake, with the transport's stream.
func (w *worker) read(c *conn, s connStream, tr verdict.Transport) {
	c.state, c.stream = stateReading, s
	c.hs = newHandshake(c, &w.count, tr)
	w.active[c] = struct{}{}
}

// finish ends the reading of c's handshake and hands its observation on.
func (c *conn) finish() {
	if c.state == stateDone {
		return
	}
	var ob *verdict.Observation
	if c.hs.hasHello() {
		ob = c.hs.observation()
		if f, ok := c.stream.(interface{ facts(*verdict.Observation) }); ok {
			f.facts(ob)
		}
	} else {
		c.stream.unjudged(&c.w.count)
	}
	c.w.done1(c, ob)
}

// abandon drops a connection that turned out not to be TLS.
func (c *conn) abandon() {
	if c.state == stateDone {
		return
	}
	c.w.done1(c, nil)
}

// done1 is called once per connection when its handshake is read (ob
// non-nil) or it gave nothing.
func (w *worker) done1(c *conn, ob *verdict.Observation) {
	c.state = stateDone
	c.fe.done.Store(true)
	c.stream.release()
	c.stream, c.hs = nil, nil
	delete(w.active, c)
	// The front drops the flow's packets from now on (fe.done); those
	// already on their way find no conn and are skipped as finished.
	delete(w.flows, c.fe)
	select {
	case w.done <- c.fe:
	default: // the front will drop its packets later; the worker drops them meanwhile
	}
	if ob != nil {
		w.events = append(w.events, event{seq: w.seq, phase: w.phase, id: ob.ID, ob: ob})
	}
}

func (w *worker) tick(it *item) {
	if it.now.After(w.now) {
		w.now = it.now
	}
	w.phase = 1
	w.tcp.tick()
	for _, c := range w.sortedActive() {
		if w.now.Sub(c.last) > w.cfg.IdleTimeout {
			c.finish()
		}
	}
	if it.slow {
		for k, c := range w.flows {
			idle := w.now.Sub(c.last)
			if c.state == stateWaiting && idle > w.cfg.IdleTimeout {
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
func (w *worker) sortedActive() []*conn {
	out := make([]*conn, 0, len(w.active))
	for c := range w.active {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *conn) int { return a.id - b.id })
	return out
}

// end finishes a flow the front evicted or replaced.
func (w *worker) end(fe *frontEntry) {
	if c := w.flows[fe]; c != nil {
		if c.state == stateReading {
			c.finish()
		}
		delete(w.flows, fe)
	}
}

// close flushes everything at the end of the input.
func (w *worker) close() {
	w.phase = 3
	w.closing = true
	w.tcp.flush()
	for _, c := range w.sortedActive() {
		c.finish()
	}
	w.flows = nil
}
