package sessions

import (
	"math"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// TimelineBuckets is how many time buckets a timeline keeps: when the
// capture outgrows them, neighbours merge two into one and the width
// doubles, so a timeline's memory never grows with the capture.
const TimelineBuckets = 64

// timelineWidth is the width of a bucket before any merge.
const timelineWidth = time.Millisecond

// Bucket counts the connections judged in one slice of capture time.
type Bucket struct {
	Start    time.Time // capture time of the bucket's start
	Conns    int       // connections whose ClientHello falls in it
	Full     int
	Resumed  int
	Rejected int // refused offers: something offered, a full handshake followed
}

// Rate is the resumption rate of the bucket (resumed over full and
// resumed), and false when it has neither.
func (b Bucket) Rate() (float64, bool) {
	n := b.Full + b.Resumed
	if n == 0 {
		return 0, false
	}
	return float64(b.Resumed) / float64(n), true
}

// clock is the time grid every timeline of one Sessions shares: the start
// of bucket 0 and the width of a bucket. It only widens.
type clock struct {
	start time.Time
	width time.Duration
}

// index returns the bucket of capture time t, widening the grid (by
// doubling) until t fits. A time before the start (a ClientHello that
// completed late) counts in bucket 0.
func (k *clock) index(t time.Time) int {
	if k.width == 0 {
		k.width = timelineWidth
		k.start = t.Truncate(k.width)
	}
	d := t.Sub(k.start)
	if d < 0 {
		return 0
	}
	for d >= k.width*TimelineBuckets {
		k.width *= 2
	}
	return int(d / k.width)
}

// count is one bucket's counts, small: a server row holds
// TimelineBuckets of them.
type count struct{ conns, full, resumed, rejected uint32 }

// series is one timeline on a shared clock. It may lag the clock's width
// (it merges only when it is next used), never lead it.
type series struct {
	width  time.Duration
	counts [TimelineBuckets]count
}

// catchUp merges pairs of buckets until the series has the clock's width.
func (s *series) catchUp(k *clock) {
	if s.width == 0 {
		s.width = k.width
	}
	for s.width < k.width {
		for i := range TimelineBuckets / 2 {
			a, b := s.counts[2*i], s.counts[2*i+1]
			s.counts[i] = count{a.conns + b.conns, a.full + b.full, a.resumed + b.resumed, a.rejected + b.rejected}
		}
		clear(s.counts[TimelineBuckets/2:])
		s.width *= 2
	}
}

// add counts c in the bucket of its ClientHello's capture time.
func (s *series) add(k *clock, c *Conn) {
	i := k.index(c.TS.Time)
	s.catchUp(k)
	b := &s.counts[i]
	b.conns++
	switch c.Handshake {
	case verdict.Full:
		b.full++
	case verdict.Resumed:
		b.resumed++
	}
	if c.Rejected {
		b.rejected++
	}
}

// buckets returns the series on the clock's grid, from bucket 0 to the
// last bucket the clock has reached: nil before any connection.
func (s *series) buckets(k *clock, last int) []Bucket {
	if k.width == 0 {
		return nil
	}
	s.catchUp(k)
	out := make([]Bucket, last+1)
	for i := range out {
		c := s.counts[i]
		out[i] = Bucket{Start: k.start.Add(time.Duration(i) * k.width), Conns: int(c.conns), Full: int(c.full),
			Resumed: int(c.resumed), Rejected: int(c.rejected)}
	}
	return out
}

// timeline is the clock, the series of all connections, and how far the
// clock has got.
type timeline struct {
	clock
	total  series
	latest time.Time // the latest ClientHello time seen
}

// timeline counts c in the timeline of all connections and in that of
// its server's row (which servers.add made).
func (s *servers) timeline(c *Conn) {
	r := s.row(c)
	r.tl = &s.tl
	s.tl.add(c, &r.series)
	for _, is := range c.Issued {
		if is.Kind == verdict.IssuedTicket && is.LifetimeHint > r.hint {
			r.hint = is.LifetimeHint
		}
	}
}

func (t *timeline) add(c *Conn, row *series) {
	t.total.add(&t.clock, c)
	if row != nil {
		row.add(&t.clock, c)
	}
	if c.TS.After(t.latest) {
		t.latest = c.TS.Time
	}
}

// last is the index of the bucket of the latest connection.
func (t *timeline) last() int {
	if t.width == 0 {
		return 0
	}
	return min(int(t.latest.Sub(t.start)/t.width), TimelineBuckets-1)
}

// Timeline returns the connections judged so far in time buckets, from
// the first connection's to the latest's: at most TimelineBuckets, each
// Width wide. Every server row's Timeline uses the same grid.
func (s *Sessions) Timeline() (buckets []Bucket, width time.Duration) {
	return s.servers.tl.total.buckets(&s.servers.tl.clock, s.servers.tl.last()), s.servers.tl.width
}

// Timeline returns the row's connections in time buckets, on the grid of
// Sessions.Timeline (the same starts, the same number of buckets).
func (r *ServerRow) Timeline() []Bucket {
	if r.tl == nil {
		return nil
	}
	return r.series.buckets(&r.tl.clock, r.tl.last())
}

// Ages returns the row's resumption ages: the resumptions whose origin is
// in the capture, by age since the origin's handshake.
func (r *ServerRow) Ages() *AgeHistogram { return &r.ages }

// LifetimeHint returns the largest ticket lifetime hint (seconds) the
// row's server issued, or false when it issued none with a hint.
func (r *ServerRow) LifetimeHint() (int64, bool) { return r.hint, r.hint > 0 }

// ResumeAge returns the seconds between the origin's handshake and this
// resumption, or false when c is no resumption or its origin is not in
// the capture.
func (c *Conn) ResumeAge() (float64, bool) {
	if c.resumeAge == nil {
		return 0, false
	}
	return *c.resumeAge, true
}

// AgeBucket is one bucket of an AgeHistogram: ages in seconds from Lo
// (inclusive) to Hi.
type AgeBucket struct {
	Lo, Hi float64
	Count  int
}

// Buckets returns the histogram's non-empty buckets, youngest first. The
// first bucket holds the ages under 1 ms, the last those over its Lo.
func (h *AgeHistogram) Buckets() []AgeBucket {
	var out []AgeBucket
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		b := AgeBucket{Count: int(c)}
		if i > 0 {
			b.Lo = ageBound(i - 1)
		}
		b.Hi = ageBound(i)
		out = append(out, b)
	}
	return out
}

// Len is the number of ages counted.
func (h *AgeHistogram) Len() int { return h.n }

// ageBound is the upper bound, in seconds, of bucket i: bucket i > 0 holds
// 2^((i-1)/16) ms to 2^(i/16) ms.
func ageBound(i int) float64 {
	return time.Duration(float64(time.Millisecond) * math.Exp2(float64(i)/agePerOctave)).Seconds()
}
