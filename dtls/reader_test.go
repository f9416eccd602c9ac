package dtls

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/tlsresume/tlsresume/tlsparse"
)

type evSummary struct {
	kind    tlsparse.EventKind
	msg     tlsparse.HandshakeType
	alertOK bool
	unified bool
}

func drainAll(t *testing.T, r *Reader) (evs []evSummary, errs []error) {
	t.Helper()
	for {
		ev, err := r.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return evs, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, evSummary{ev.Kind, ev.Msg.Type, ev.AlertOK, ev.Unified})
	}
}

func TestReader(t *testing.T) {
	shBody := pattern(70)
	certBody := pattern(500)
	for _, tt := range []struct {
		name      string
		datagrams [][]byte
		want      []evSummary
		nerr      int
		counts    map[Counter]uint64
	}{
		{
			name: "server flight: messages in one record, then CCS and an encrypted Finished",
			datagrams: [][]byte{
				cat(
					rec(tlsparse.RecordHandshake, 0, 1, cat(frag(sh, 70, 1, 0, shBody), frag(cert, 500, 2, 0, certBody[:200]))),
					rec(tlsparse.RecordHandshake, 0, 2, frag(cert, 500, 2, 200, certBody[200:])),
				),
				cat(
					rec(tlsparse.RecordHandshake, 0, 3, frag(shd, 0, 3, 0, nil)),
					rec(tlsparse.RecordChangeCipherSpec, 0, 4, []byte{1}),
					rec(tlsparse.RecordHandshake, 1, 0, pattern(40)),
				),
				rec(tlsparse.RecordAlert, 1, 1, pattern(26)),
			},
			want: []evSummary{
				{kind: tlsparse.EventMessage, msg: sh},
				{kind: tlsparse.EventMessage, msg: cert},
				{kind: tlsparse.EventMessage, msg: shd},
				{kind: tlsparse.EventChangeCipherSpec},
				{kind: tlsparse.EventEncryptedHandshake},
				{kind: tlsparse.EventAlert},
			},
			counts: map[Counter]uint64{CountHandshakeEncrypted: 1, CountRecordEncrypted: 2, CountRecords: 6},
		},
		{
			name: "retransmitted flight is deduplicated",
			datagrams: [][]byte{
				rec(tlsparse.RecordHandshake, 0, 1, frag(sh, 70, 1, 0, shBody)),
				rec(tlsparse.RecordHandshake, 0, 5, frag(sh, 70, 1, 0, shBody)),
			},
			want:   []evSummary{{kind: tlsparse.EventMessage, msg: sh}},
			counts: map[Counter]uint64{CountRetransmitted: 1},
		},
		{
			name: "plaintext alert, STUN in between, DTLS 1.3 unified record",
			datagrams: [][]byte{
				{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
				rec(tlsparse.RecordAlert, 0, 0, []byte{2, 40}),
				{0x2c, 0x00, 0x01, 0x00, 0x03, 'e', 'n', 'c'}, // RFC 9147, Section 4: S and L set, epoch bits 0
			},
			want: []evSummary{
				{kind: tlsparse.EventAlert, alertOK: true},
				{kind: tlsparse.EventApplicationData, unified: true},
			},
			counts: map[Counter]uint64{CountNotDTLS: 1, CountRecordEncrypted: 1},
		},
		{
			name: "a bad record drops the rest of its datagram, the next one is read",
			datagrams: [][]byte{
				cat(rec(tlsparse.RecordHandshake, 0, 0, frag(ch, 3, 0, 0, []byte("abc"))), []byte{22, 0xfe, 0xfd, 0}),
				rec(tlsparse.RecordChangeCipherSpec, 0, 1, []byte{1}),
			},
			want: []evSummary{
				{kind: tlsparse.EventMessage, msg: ch},
				{kind: tlsparse.EventChangeCipherSpec},
			},
			nerr:   1,
			counts: map[Counter]uint64{CountRecordMalformed: 1},
		},
		{
			name: "a bad fragment drops the rest of its record",
			datagrams: [][]byte{
				rec(tlsparse.RecordHandshake, 0, 0, cat(frag(ch, 3, 0, 0, []byte("abc")), []byte{1, 2, 3})),
			},
			want:   []evSummary{{kind: tlsparse.EventMessage, msg: ch}},
			nerr:   1,
			counts: map[Counter]uint64{CountFragmentMalformed: 1},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			var got []evSummary
			nerr := 0
			for _, d := range tt.datagrams {
				r.Write(d)
				evs, errs := drainAll(t, &r)
				got = append(got, evs...)
				nerr += len(errs)
				for _, err := range errs {
					if !errors.Is(err, tlsparse.ErrMalformed) {
						t.Errorf("error %v does not wrap tlsparse.ErrMalformed", err)
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			if nerr != tt.nerr {
				t.Errorf("%d errors, want %d", nerr, tt.nerr)
			}
			st := r.TotalStats()
			for c, n := range tt.counts {
				if st[c] != n {
					t.Errorf("%v = %d, want %d", c, st[c], n)
				}
			}
		})
	}
}

// TestReaderBodies checks that a message's body is its bytes, whether it
// came whole (aliasing the datagram) or was reassembled.
func TestReaderBodies(t *testing.T) {
	body := pattern(300)
	var r Reader
	r.Write(rec(tlsparse.RecordHandshake, 0, 0, frag(ch, 300, 0, 0, body)))
	ev, err := r.Next()
	if err != nil || !bytes.Equal(ev.Msg.Body, body) || ev.MessageSeq != 0 {
		t.Fatalf("whole: %v, body ok %v", err, bytes.Equal(ev.Msg.Body, body))
	}
	drainAll(t, &r)
	r.Write(rec(tlsparse.RecordHandshake, 0, 1, frag(ch, 300, 1, 150, body[150:])))
	drainAll(t, &r)
	r.Write(rec(tlsparse.RecordHandshake, 0, 2, frag(ch, 300, 1, 0, body[:150])))
	ev, err = r.Next()
	if err != nil || !bytes.Equal(ev.Msg.Body, body) || ev.MessageSeq != 1 {
		t.Fatalf("reassembled: %v, body ok %v", err, bytes.Equal(ev.Msg.Body, body))
	}
}

// TestReaderAllocs pins that a handshake whose messages each fit one
// fragment costs no allocation per datagram.
func TestReaderAllocs(t *testing.T) {
	d := rec(tlsparse.RecordHandshake, 0, 0, frag(ch, 200, 0, 0, pattern(200)))
	var r Reader
	n := testing.AllocsPerRun(100, func() {
		r = Reader{}
		r.Write(d)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per datagram", n)
	}
}
