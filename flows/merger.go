package flows

import (
	"slices"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// event is an observation (or a tick) on its way to the merger, with its
// place in capture order.
type event struct {
	seq   uint64
	phase uint8 // 0 packet, 1 idle flows at a tick, 2 the tick itself, 3 end of input
	id    int
	ob    *verdict.Observation
	tick  *time.Time // phase 2: sessions expire at this time
	slow  bool
}

// result is what a worker hands the merger after a batch: its events and
// how far it has got.
type result struct {
	worker int
	events []event
	mark   uint64
	final  bool
}

// merger puts the workers' events into capture order and hands them to
// the sink, on its own goroutine. An event is handed on once every worker
// has reported a mark at or past its seq: no worker can still produce an
// earlier one.
type merger struct {
	sink     Sink
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
		case ev.ob != nil:
			m.sink.Observed(ev.ob)
		case ev.tick != nil && ev.slow && ev.seq != m.lastTick:
			m.lastTick = ev.seq
			m.sink.Tick(*ev.tick)
		}
	}
	m.buf = append(m.buf[:0], m.buf[n:]...)
}

// sortEvents orders events by the packet at which they were decided, then
// by phase, then by connection id: an order that depends on the capture
// alone, not on which worker decided what when.
func sortEvents(evs []event) {
	slices.SortFunc(evs, func(a, b event) int {
		switch {
		case a.seq != b.seq:
			return cmpU64(a.seq, b.seq)
		case a.phase != b.phase:
			return int(a.phase) - int(b.phase)
		}
		return a.id - b.id
	})
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
