package dtls

import (
	"io"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// HandshakeHeaderLen is the length of a DTLS handshake header: msg_type,
// length (24 bits), message_seq (16), fragment_offset (24),
// fragment_length (24) (RFC 6347, Section 4.2.2; RFC 9147, Section 5.2).
const HandshakeHeaderLen = 12

// DefaultMaxPending bounds how many messages a Reassembler holds before
// they are complete and in order. A server's whole DTLS 1.2 flight is
// four or five messages.
const DefaultMaxPending = 8

// maxSeqAhead bounds how far ahead of the next expected message a
// message_seq may be. A handshake has a few dozen messages at most.
const maxSeqAhead = 64

// maxRanges bounds the disjoint pieces held of one message.
const maxRanges = 32

// Fragment is one handshake fragment. Data aliases the record it was read
// from.
type Fragment struct {
	Type   tlsparse.HandshakeType
	Length int    // of the whole message
	Seq    uint16 // message_seq
	Offset int    // fragment_offset
	Data   []byte // fragment_length bytes
}

// NextFragment reads the first handshake fragment of a handshake record's
// content and returns it with the bytes that follow (a record may hold
// several fragments, RFC 6347, Section 4.2.3). It returns
// io.ErrUnexpectedEOF when b is empty and an error wrapping
// tlsparse.ErrMalformed when the header does not fit the record or the
// fragment does not fit its message.
func NextFragment(b []byte) (Fragment, []byte, error) {
	if len(b) == 0 {
		return Fragment{}, nil, io.ErrUnexpectedEOF
	}
	if len(b) < HandshakeHeaderLen {
		return Fragment{}, nil, malformed("handshake header cut short")
	}
	// RFC 6347, Section 4.2.2: msg_type, length, message_seq,
	// fragment_offset, fragment_length.
	f := Fragment{
		Type:   tlsparse.HandshakeType(b[0]),
		Length: int(b[1])<<16 | int(b[2])<<8 | int(b[3]),
		Seq:    uint16(b[4])<<8 | uint16(b[5]),
		Offset: int(b[6])<<16 | int(b[7])<<8 | int(b[8]),
	}
	n := int(b[9])<<16 | int(b[10])<<8 | int(b[11])
	if n > len(b)-HandshakeHeaderLen {
		return Fragment{}, nil, malformed("handshake fragment longer than its record")
	}
	if f.Offset+n > f.Length {
		return Fragment{}, nil, malformed("handshake fragment past the end of its message")
	}
	f.Data = b[HandshakeHeaderLen : HandshakeHeaderLen+n]
	return f, b[HandshakeHeaderLen+n:], nil
}

// Message is one complete handshake message. Body is set for the types
// tlsparse keeps (tlsparse.Kept: ClientHello, ServerHello,
// HelloVerifyRequest, NewSessionTicket) within the bound; it is nil for
// the others, whose bytes are never buffered, and for a kept message over
// the bound. Body aliases the Reassembler's buffer or the fragment it came
// in, until the next Add.
type Message struct {
	tlsparse.Message
	Seq uint16 // message_seq
}

type span struct{ lo, hi int }

// pending is a message that is incomplete or waits for an earlier one.
type pending struct {
	seq    uint16
	typ    tlsparse.HandshakeType
	length int
	keep   bool   // body is buffered
	body   []byte // length bytes when keep
	ranges []span // covered parts, sorted, disjoint, not adjacent
}

func (p *pending) done() bool {
	return p.length == 0 && len(p.ranges) > 0 || len(p.ranges) == 1 && p.ranges[0].lo == 0 && p.ranges[0].hi == p.length
}

// cover adds [lo, hi) and reports whether it added anything new; ok is
// false when the new piece would exceed maxRanges.
func (p *pending) cover(lo, hi int) (added, ok bool) {
	if p.length == 0 {
		// A zero-length message (ServerHelloDone) is complete with its
		// one fragment.
		if len(p.ranges) > 0 {
			return false, true
		}
		p.ranges = append(p.ranges, span{0, 0})
		return true, true
	}
	if lo == hi {
		return false, true
	}
	i := 0
	for i < len(p.ranges) && p.ranges[i].hi < lo {
		i++
	}
	j := i
	for j < len(p.ranges) && p.ranges[j].lo <= hi {
		j++
	}
	if j == i {
		// Disjoint from every piece: insert at i.
		if len(p.ranges) >= maxRanges {
			return false, false
		}
		p.ranges = append(p.ranges, span{})
		copy(p.ranges[i+1:], p.ranges[i:])
		p.ranges[i] = span{lo, hi}
		return true, true
	}
	if j == i+1 && p.ranges[i].lo <= lo && hi <= p.ranges[i].hi {
		return false, true
	}
	nlo, nhi := min(lo, p.ranges[i].lo), max(hi, p.ranges[j-1].hi)
	p.ranges[i] = span{nlo, nhi}
	p.ranges = append(p.ranges[:i+1], p.ranges[j:]...)
	return true, true
}

// Reassembler turns handshake fragments into complete messages in
// message_seq order (RFC 6347, Section 4.2.2): fragments may come in any
// order, overlap or repeat; a message_seq already delivered is a
// retransmission and is dropped. The zero value is ready to use.
//
// The first fragment ever added sets the first message_seq expected (0
// for a capture that starts with the handshake, RFC 6347, Section 4.2.2).
// Only the bodies of kept types are buffered, each bounded by MaxMessage
// before anything is allocated; at most MaxPending messages wait at once.
// When a fragment of a new message finds no room, the oldest missing
// message is abandoned (CountMessageAbandoned) so that the handshake goes
// on; Flush abandons every missing one.
type Reassembler struct {
	// MaxMessage bounds a kept message's body; zero means
	// tlsparse.DefaultMaxMessage.
	MaxMessage int
	// MaxPending bounds the messages held; zero means DefaultMaxPending.
	MaxPending int
	// Stats counts what Add and Next saw.
	Stats Stats

	started  bool
	next     uint16 // message_seq to deliver next
	held     []*pending
	free     []*pending
	ready    Message // a whole message taken straight from its fragment
	hasReady bool
	flushing bool
}

// Next returns the next complete message in order, if there is one. Call
// it until it reports false after every Add.
func (a *Reassembler) Next() (Message, bool) {
	if a.hasReady {
		a.hasReady = false
		a.Stats[CountMessages]++
		return a.ready, true
	}
	for {
		i, p := a.find(a.next)
		if p != nil && p.done() {
			a.held = append(a.held[:i], a.held[i+1:]...)
			a.free = append(a.free, p)
			a.next++
			a.Stats[CountMessages]++
			m := Message{Message: tlsparse.Message{Type: p.typ, Length: p.length}, Seq: p.seq}
			if p.keep {
				m.Body = p.body
			}
			return m, true
		}
		if !a.flushing || len(a.held) == 0 {
			a.flushing = false
			return Message{}, false
		}
		a.abandonNext()
	}
}

// Flush gives up on every message still missing, so that the complete
// messages after them come out of Next; for the end of a flow.
func (a *Reassembler) Flush() { a.flushing = len(a.held) > 0 }

// Pending returns how many messages are held incomplete or out of order.
func (a *Reassembler) Pending() int { return len(a.held) }

func (a *Reassembler) find(seq uint16) (int, *pending) {
	for i, p := range a.held {
		if p.seq == seq {
			return i, p
		}
	}
	return -1, nil
}

// abandonNext gives up on message a.next, held or not.
func (a *Reassembler) abandonNext() {
	if i, p := a.find(a.next); p != nil {
		a.held = append(a.held[:i], a.held[i+1:]...)
		a.free = append(a.free, p)
	}
	a.next++
	a.Stats[CountMessageAbandoned]++
}

// Add takes one fragment. Its Data is copied when the message must wait;
// a whole message in one fragment that is next in order is delivered
// without a copy and aliases Data. It returns an error wrapping
// tlsparse.ErrTooLarge for the first fragment of a kept message over
// MaxMessage (the message is then reassembled without its body); every
// other anomaly is only counted.
func (a *Reassembler) Add(f Fragment) error {
	a.Stats[CountFragments]++
	if !a.started {
		a.started, a.next = true, f.Seq
	}
	ahead := int(f.Seq) - int(a.next)
	if ahead < 0 {
		a.Stats[CountRetransmitted]++
		return nil
	}
	if ahead >= maxSeqAhead {
		a.Stats[CountSeqFar]++
		return nil
	}
	limit := a.MaxMessage
	if limit <= 0 {
		limit = tlsparse.DefaultMaxMessage
	}
	keep := tlsparse.Kept(f.Type)
	var err error
	_, p := a.find(f.Seq)
	if p == nil {
		if keep && f.Length > limit {
			keep = false
			a.Stats[CountMessageTooLarge]++
			err = tooLarge(f.Type.String() + " over the bound")
		}
		if ahead == 0 && !a.hasReady && f.Offset == 0 && len(f.Data) == f.Length {
			// RFC 6347, Section 4.2.2: an unfragmented message is one
			// fragment with offset 0 and the full length.
			a.ready = Message{Message: tlsparse.Message{Type: f.Type, Length: f.Length}, Seq: f.Seq}
			if keep {
				a.ready.Body = f.Data
			}
			a.hasReady = true
			a.next++
			return err
		}
		maxPending := a.MaxPending
		if maxPending <= 0 {
			maxPending = DefaultMaxPending
		}
		if len(a.held) >= maxPending {
			// Give up on the oldest missing message to make room.
			a.abandonNext()
			for a.next != f.Seq {
				if _, q := a.find(a.next); q != nil {
					break
				}
				a.abandonNext()
			}
			if len(a.held) >= maxPending {
				a.Stats[CountPendingFull]++
				return err
			}
		}
		p = a.alloc(f, keep)
	} else if p.typ != f.Type || p.length != f.Length {
		a.Stats[CountFragmentConflict]++
		return nil
	}
	lo, hi := f.Offset, f.Offset+len(f.Data)
	added, ok := p.cover(lo, hi)
	switch {
	case !ok:
		a.Stats[CountRangesFull]++
	case !added:
		a.Stats[CountFragmentDuplicate]++
	case p.keep:
		copy(p.body[lo:hi], f.Data)
	}
	return err
}

// alloc holds a new message; its length was bounded by the caller when
// it is kept.
func (a *Reassembler) alloc(f Fragment, keep bool) *pending {
	var p *pending
	if n := len(a.free); n > 0 {
		p, a.free = a.free[n-1], a.free[:n-1]
	} else {
		p = &pending{}
	}
	p.seq, p.typ, p.length, p.keep, p.ranges = f.Seq, f.Type, f.Length, keep, p.ranges[:0]
	if keep {
		if cap(p.body) >= f.Length {
			p.body = p.body[:f.Length]
		} else {
			p.body = make([]byte, f.Length)
		}
	} else {
		p.body = p.body[:0]
	}
	a.held = append(a.held, p)
	return p
}
