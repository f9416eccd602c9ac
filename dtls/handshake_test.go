package dtls

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

const (
	ch   = tlsparse.TypeClientHello
	sh   = tlsparse.TypeServerHello
	cert = tlsparse.TypeCertificate
	shd  = tlsparse.TypeServerHelloDone
)

// piece is one fragment to Add: message seq, type, total length, and the
// byte range of pattern(length) it carries.
type piece struct {
	seq    uint16
	typ    tlsparse.HandshakeType
	length int
	lo, hi int
}

type delivered struct {
	seq  uint16
	typ  tlsparse.HandshakeType
	body bool // a body was returned (and is checked against pattern)
}

func TestReassembler(t *testing.T) {
	for _, tt := range []struct {
		name       string
		maxMsg     int
		maxPending int
		pieces     []piece
		flush      bool
		want       []delivered
		counts     map[Counter]uint64
		tooLarge   int // Add calls expected to return ErrTooLarge
		pending    int // messages still held at the end
	}{
		{
			name:   "whole messages in order",
			pieces: []piece{{0, ch, 100, 0, 100}, {1, ch, 120, 0, 120}},
			want:   []delivered{{0, ch, true}, {1, ch, true}},
			counts: map[Counter]uint64{CountMessages: 2, CountFragments: 2},
		},
		{
			name:   "fragments in reverse order",
			pieces: []piece{{0, sh, 90, 60, 90}, {0, sh, 90, 30, 60}, {0, sh, 90, 0, 30}},
			want:   []delivered{{0, sh, true}},
		},
		{
			name:   "overlapping fragments",
			pieces: []piece{{0, ch, 100, 0, 40}, {0, ch, 100, 30, 70}, {0, ch, 100, 20, 50}, {0, ch, 100, 65, 100}},
			want:   []delivered{{0, ch, true}},
			counts: map[Counter]uint64{CountFragmentDuplicate: 1},
		},
		{
			name:   "duplicated fragments",
			pieces: []piece{{0, ch, 100, 0, 50}, {0, ch, 100, 0, 50}, {0, ch, 100, 10, 20}, {0, ch, 100, 50, 100}},
			want:   []delivered{{0, ch, true}},
			counts: map[Counter]uint64{CountFragmentDuplicate: 2, CountMessages: 1},
		},
		{
			name: "retransmitted flight is dropped",
			pieces: []piece{
				{1, sh, 50, 0, 50}, {2, cert, 900, 0, 500}, {2, cert, 900, 500, 900}, {3, shd, 0, 0, 0},
				{1, sh, 50, 0, 50}, {2, cert, 900, 0, 500}, {2, cert, 900, 500, 900}, {3, shd, 0, 0, 0},
			},
			want:   []delivered{{1, sh, true}, {2, cert, false}, {3, shd, false}},
			counts: map[Counter]uint64{CountRetransmitted: 4, CountMessages: 3},
		},
		{
			name:   "later message complete first waits",
			pieces: []piece{{0, sh, 40, 0, 20}, {1, cert, 300, 0, 300}, {2, shd, 0, 0, 0}, {0, sh, 40, 20, 40}},
			want:   []delivered{{0, sh, true}, {1, cert, false}, {2, shd, false}},
		},
		{
			name:   "a fragment that never completes blocks until Flush",
			pieces: []piece{{0, sh, 40, 0, 40}, {1, cert, 300, 0, 100}, {1, cert, 300, 200, 300}, {2, shd, 0, 0, 0}},
			flush:  true,
			want:   []delivered{{0, sh, true}, {2, shd, false}},
			counts: map[Counter]uint64{CountMessageAbandoned: 1, CountMessages: 2},
		},
		{
			name:    "a fragment that never completes, no Flush",
			pieces:  []piece{{0, sh, 40, 0, 40}, {1, cert, 300, 0, 100}, {2, shd, 0, 0, 0}},
			want:    []delivered{{0, sh, true}},
			pending: 2,
		},
		{
			name:       "room is made by abandoning the oldest missing message",
			maxPending: 2,
			pieces:     []piece{{0, sh, 40, 0, 10}, {1, cert, 300, 0, 300}, {2, shd, 0, 0, 0}},
			want:       []delivered{{1, cert, false}, {2, shd, false}},
			counts:     map[Counter]uint64{CountMessageAbandoned: 1},
		},
		{
			name:       "only the oldest is abandoned; the next missing one still waits",
			maxPending: 2,
			pieces:     []piece{{0, sh, 40, 0, 10}, {1, cert, 300, 0, 100}, {2, shd, 0, 0, 0}, {1, cert, 300, 100, 300}},
			want:       []delivered{{1, cert, false}, {2, shd, false}},
			counts:     map[Counter]uint64{CountMessageAbandoned: 1},
		},
		{
			name:     "kept message over the bound comes without a body",
			maxMsg:   64,
			pieces:   []piece{{0, ch, 100, 0, 60}, {0, ch, 100, 60, 100}},
			want:     []delivered{{0, ch, false}},
			counts:   map[Counter]uint64{CountMessageTooLarge: 1},
			tooLarge: 1,
		},
		{
			name:   "conflicting fragment is dropped",
			pieces: []piece{{0, ch, 100, 0, 50}, {0, ch, 99, 50, 99}, {0, sh, 100, 50, 100}, {0, ch, 100, 50, 100}},
			want:   []delivered{{0, ch, true}},
			counts: map[Counter]uint64{CountFragmentConflict: 2},
		},
		{
			name:   "message_seq far ahead is dropped",
			pieces: []piece{{0, ch, 10, 0, 10}, {500, ch, 10, 0, 10}},
			want:   []delivered{{0, ch, true}},
			counts: map[Counter]uint64{CountSeqFar: 1},
		},
		{
			name:   "first message_seq seen sets the start (capture begins mid-handshake)",
			pieces: []piece{{3, cert, 10, 0, 10}, {4, shd, 0, 0, 0}},
			want:   []delivered{{3, cert, false}, {4, shd, false}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &Reassembler{MaxMessage: tt.maxMsg, MaxPending: tt.maxPending}
			var got []delivered
			tooLarge := 0
			drain := func() {
				for {
					m, ok := a.Next()
					if !ok {
						return
					}
					got = append(got, delivered{m.Seq, m.Type, m.Body != nil})
					if m.Body != nil && !bytes.Equal(m.Body, pattern(m.Length)) {
						t.Errorf("seq %d: body differs from what was sent", m.Seq)
					}
				}
			}
			for _, p := range tt.pieces {
				err := a.Add(Fragment{Type: p.typ, Length: p.length, Seq: p.seq, Offset: p.lo, Data: pattern(p.length)[p.lo:p.hi]})
				if errors.Is(err, tlsparse.ErrTooLarge) {
					tooLarge++
				} else if err != nil {
					t.Fatal(err)
				}
				drain()
			}
			if tt.flush {
				a.Flush()
				drain()
			}
			if len(got) != len(tt.want) {
				t.Fatalf("delivered %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("message %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			for c, n := range tt.counts {
				if a.Stats[c] != n {
					t.Errorf("%v = %d, want %d", c, a.Stats[c], n)
				}
			}
			if a.Pending() != tt.pending {
				t.Errorf("%d messages held, want %d", a.Pending(), tt.pending)
			}
			if tooLarge != tt.tooLarge {
				t.Errorf("%d ErrTooLarge, want %d", tooLarge, tt.tooLarge)
			}
		})
	}
}

func TestReassemblerRangesBounded(t *testing.T) {
	a := &Reassembler{}
	// Every other byte of a 200-byte Certificate: 100 disjoint pieces.
	for off := 0; off < 200; off += 2 {
		a.Add(Fragment{Type: cert, Length: 200, Seq: 0, Offset: off, Data: []byte{0}})
	}
	if got := a.Stats[CountRangesFull]; got != 100-maxRanges {
		t.Errorf("fragment_ranges_full = %d, want %d", got, 100-maxRanges)
	}
	if _, ok := a.Next(); ok {
		t.Error("incomplete message delivered")
	}
}

func TestNextFragment(t *testing.T) {
	whole := frag(ch, 5, 7, 0, []byte("hello"))
	for _, tt := range []struct {
		name string
		in   []byte
		want Fragment
		rest int
		err  error
	}{
		{"whole", whole, Fragment{Type: ch, Length: 5, Seq: 7, Data: []byte("hello")}, 0, nil},
		{"two in a record", cat(whole, whole), Fragment{Type: ch, Length: 5, Seq: 7, Data: []byte("hello")}, len(whole), nil},
		{"middle piece", frag(cert, 900, 2, 300, []byte("abc")), Fragment{Type: cert, Length: 900, Seq: 2, Offset: 300, Data: []byte("abc")}, 0, nil},
		{"empty", nil, Fragment{}, 0, io.ErrUnexpectedEOF},
		{"header cut short", whole[:11], Fragment{}, 0, tlsparse.ErrMalformed},
		{"data cut short", whole[:len(whole)-1], Fragment{}, 0, tlsparse.ErrMalformed},
		{"past the message", frag(ch, 5, 0, 3, []byte("abc")), Fragment{}, 0, tlsparse.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, rest, err := NextFragment(tt.in)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if f.Type != tt.want.Type || f.Length != tt.want.Length || f.Seq != tt.want.Seq || f.Offset != tt.want.Offset ||
				!bytes.Equal(f.Data, tt.want.Data) || len(rest) != tt.rest {
				t.Errorf("got %+v rest %d, want %+v rest %d", f, len(rest), tt.want, tt.rest)
			}
		})
	}
}
