package sessions

import (
	"math"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/tlsresume/tlsresume/verdict"
)

// tconn is a connection at offset d from tl0 to server port.
type tconn struct {
	d        time.Duration
	port     uint16
	outcome  verdict.Outcome
	rejected bool
}

var tl0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// feed counts the connections as Sessions.count does.
func feed(s *servers, cs []tconn) {
	for _, tc := range cs {
		c := &Conn{TS: Timestamp{Time: tl0.Add(tc.d)}, Server: verdict.Endpoint{IP: netip.MustParseAddr("192.0.2.1"), Port: tc.port},
			Handshake: tc.outcome, Rejected: tc.rejected}
		s.add(c)
		s.timeline(c)
	}
}

// oracle buckets the connections directly on a grid of the given start and
// width: the counts the merges must arrive at.
func oracle(cs []tconn, start time.Time, width time.Duration, port uint16) map[int]Bucket {
	out := map[int]Bucket{}
	for _, tc := range cs {
		if port != 0 && tc.port != port {
			continue
		}
		i := int(tl0.Add(tc.d).Sub(start) / width)
		b := out[i]
		b.Conns++
		switch tc.outcome {
		case verdict.Full:
			b.Full++
		case verdict.Resumed:
			b.Resumed++
		}
		if tc.rejected {
			b.Rejected++
		}
		out[i] = b
	}
	return out
}

func TestTimeline(t *testing.T) {
	// A long capture: a connection every 3.6 s for 10 hours, every third
	// resumed, and a burst of refused offers at 5h (a restart).
	var long []tconn
	for i := range 10000 {
		o := verdict.Full
		if i%3 == 0 {
			o = verdict.Resumed
		}
		long = append(long, tconn{d: time.Duration(i) * 3600 * time.Millisecond, port: 443, outcome: o})
	}
	for i := range 40 {
		long = append(long, tconn{d: 5*time.Hour + time.Duration(i)*time.Second, port: 8443, outcome: verdict.Full, rejected: true})
	}
	for _, tt := range []struct {
		name      string
		conns     []tconn
		wantWidth time.Duration
		wantLen   int
	}{
		{"one bucket", []tconn{{0, 443, verdict.Full, false}, {500 * time.Microsecond, 443, verdict.Resumed, false}}, time.Millisecond, 1},
		{"last bucket before a merge", []tconn{{0, 443, verdict.Full, false}, {63 * time.Millisecond, 443, verdict.Resumed, false}}, time.Millisecond, 64},
		{"one merge", []tconn{{0, 443, verdict.Full, false}, {time.Millisecond, 443, verdict.Full, true}, {64 * time.Millisecond, 443, verdict.Resumed, false}}, 2 * time.Millisecond, 33},
		{"a second server after merges", []tconn{{0, 443, verdict.Full, false}, {time.Second, 443, verdict.Full, false}, {3 * time.Second, 8443, verdict.Resumed, false}}, 64 * time.Millisecond, 47},
		// 10h/64 = 562.5 s: the first power-of-two multiple of 1 ms
		// above is 2^20 ms = 1048.576 s.
		{"ten hours", long, 1 << 20 * time.Millisecond, 35},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &servers{max: 1000}
			feed(s, tt.conns)
			got, width := s.tl.total.buckets(&s.tl.clock, s.tl.last()), s.tl.width
			if width != tt.wantWidth || len(got) != tt.wantLen {
				t.Fatalf("width %v, %d buckets; want %v, %d", width, len(got), tt.wantWidth, tt.wantLen)
			}
			check := func(name string, got []Bucket, port uint16) {
				want := oracle(tt.conns, tl0, width, port)
				for i, b := range got {
					w := want[i]
					w.Start = tl0.Add(time.Duration(i) * width)
					if b != w {
						t.Errorf("%s bucket %d: %+v, want %+v", name, i, b, w)
					}
					delete(want, i)
				}
				if len(want) > 0 {
					t.Errorf("%s: connections outside the buckets: %v", name, want)
				}
			}
			check("total", got, 0)
			for _, r := range s.table() {
				tl := r.Timeline()
				if len(tl) != len(got) {
					t.Errorf("server %v: %d buckets, total has %d", r.Server, len(tl), len(got))
				}
				check(r.Server.String(), tl, r.Server.Port)
			}
		})
	}
}

// TestTimelineRestartSpike: the refused offers of a restart stand out in
// one bucket of the long capture, on the row of the server that refused.
func TestTimelineRestartSpike(t *testing.T) {
	s := &servers{max: 1000}
	var cs []tconn
	for i := range 3600 {
		cs = append(cs, tconn{d: time.Duration(i) * time.Second, port: 443, outcome: verdict.Resumed})
	}
	for i := range 20 {
		cs = append(cs, tconn{d: 30*time.Minute + time.Duration(i)*100*time.Millisecond, port: 443, outcome: verdict.Full, rejected: true})
	}
	feed(s, cs)
	tl := s.table()[0].Timeline()
	peak, at := 0, -1
	for i, b := range tl {
		if b.Rejected > peak {
			peak, at = b.Rejected, i
		}
	}
	if peak != 20 || !(tl[at].Start.Compare(tl0.Add(30*time.Minute)) <= 0 && tl0.Add(30*time.Minute).Before(tl[at].Start.Add(s.tl.width))) {
		t.Errorf("peak of %d refused in bucket %d (%v, width %v), want 20 in the bucket of 30m", peak, at, tl[at].Start, s.tl.width)
	}
	if r, ok := tl[0].Rate(); !ok || r != 1 {
		t.Errorf("rate of bucket 0: %v %v, want 1", r, ok)
	}
}

// TestTimelineBounded: a row's timeline is a fixed array, whatever the
// length of the capture.
func TestTimelineBounded(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n > 16*TimelineBuckets+8 {
		t.Errorf("a series is %d bytes", n)
	}
	s := &servers{max: 1000}
	feed(s, []tconn{{0, 443, verdict.Full, false}, {24 * 365 * time.Hour, 443, verdict.Full, false}})
	if got := s.table()[0].Timeline(); len(got) > TimelineBuckets {
		t.Errorf("%d buckets", len(got))
	}
}

func TestAgeBuckets(t *testing.T) {
	var h AgeHistogram
	for _, a := range []float64{0.0005, 0.5, 0.5, 300, 1e9} {
		h.Add(a)
	}
	got := h.Buckets()
	if len(got) != 4 || h.Len() != 5 {
		t.Fatalf("buckets %+v, len %d", got, h.Len())
	}
	want := []struct {
		age float64
		n   int
	}{{0.0005, 1}, {0.5, 2}, {300, 1}}
	for i, w := range want {
		b := got[i]
		if b.Count != w.n || w.age < b.Lo || w.age >= b.Hi || b.Hi/math.Max(b.Lo, 1e-3) > 1.05 {
			t.Errorf("bucket %d %+v: want %v in it, %d times, a sixteenth of an octave wide", i, b, w.age, w.n)
		}
	}
	if last := got[3]; last.Count != 1 || last.Lo > 2<<17*1.0 {
		t.Errorf("overflow bucket %+v", last)
	}
}
