package tlsgen

import (
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// seqPayload is a TCP segment with data, by direction and sequence number.
type seqPayload struct {
	src  string
	seq  uint32
	data []byte
}

func dataSegments(pkts []capPacket) []seqPayload {
	var out []seqPayload
	for _, p := range pkts {
		tcp, _ := p.pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || len(tcp.Payload) == 0 {
			continue
		}
		src := p.pkt.NetworkLayer().NetworkFlow().Src().String() + ":" + tcp.SrcPort.String()
		out = append(out, seqPayload{src, tcp.Seq, tcp.Payload})
	}
	return out
}

// TestDamageRetransmissions checks the two retransmission knobs that
// TestDamage does not: copies with other bytes, and copies that overlap the
// segment before. The truth does not change, the first copy of every byte
// is the one sent, and the generator's TCP checks still hold for it.
func TestDamageRetransmissions(t *testing.T) {
	_, clean := generate(t, "tls12-tickets", Options{Seed: 9})
	n := len(readCapture(t, clean, false))
	for _, tc := range []struct {
		name  string
		d     Damage
		check func(t *testing.T, segs []seqPayload)
	}{
		{"altered", Damage{RetransmitAltered: 0.5}, func(t *testing.T, segs []seqPayload) {
			altered := 0
			first := map[string][]byte{}
			for _, s := range segs {
				k := fmt.Sprint(s.src, "/", s.seq)
				f, ok := first[k]
				if !ok {
					first[k] = s.data
					continue
				}
				if len(f) != len(s.data) {
					t.Fatalf("%s seq %d: retransmission of %d bytes, first copy %d", s.src, s.seq, len(s.data), len(f))
				}
				for i := range f {
					if f[i] == s.data[i] {
						t.Fatalf("%s seq %d: byte %d unchanged", s.src, s.seq, i)
					}
				}
				altered++
			}
			if altered == 0 {
				t.Error("no altered retransmission")
			}
		}},
		{"overlap", Damage{Overlap: 0.5}, func(t *testing.T, segs []seqPayload) {
			// Rebuild each direction from first copies and check that every later
			// copy agrees with it where they overlap.
			stream := map[string]map[uint32]byte{}
			overlaps := 0
			starts := map[string]bool{}
			for _, s := range segs {
				m := stream[s.src]
				if m == nil {
					m = map[uint32]byte{}
					stream[s.src] = m
				}
				// A copy that starts inside data already captured, where no
				// segment started: it overlaps the segment before.
				k := fmt.Sprint(s.src, "/", s.seq)
				if _, seen := m[s.seq]; seen && !starts[k] {
					overlaps++
				}
				starts[k] = true
				for i, c := range s.data {
					if old, ok := m[s.seq+uint32(i)]; ok && old != c {
						t.Fatalf("%s seq %d: byte %d differs from the first copy", s.src, s.seq, i)
					}
					m[s.seq+uint32(i)] = c
				}
			}
			if overlaps == 0 {
				t.Error("no retransmission overlaps the segment before its own")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns, data := generate(t, "tls12-tickets", Options{Seed: 9, Damage: tc.d})
			if got := count(conns); got != want["tls12-tickets"] {
				t.Errorf("damage changed the truth: %+v", got)
			}
			pkts := readCapture(t, data, false)
			if len(pkts) <= n {
				t.Errorf("%d packets, clean has %d", len(pkts), n)
			}
			tc.check(t, dataSegments(pkts))
		})
	}
	// Without the knobs nothing is drawn: the capture is the one TestDamage
	// checks, packet for packet in layout.
	_, again := generate(t, "tls12-tickets", Options{Seed: 9})
	if a, b := readCapture(t, clean, false), readCapture(t, again, false); len(a) != len(b) {
		t.Errorf("%d and %d packets for one seed", len(a), len(b))
	}
}
