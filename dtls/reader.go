package dtls

import (
	"io"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// Event is one thing a Reader found. The embedded tlsparse.Event has the
// shape tlsparse.Stream returns, so one handshake state machine can read
// TLS and DTLS alike:
//
//   - EventMessage: a complete plaintext handshake message (Msg), in
//     message_seq order;
//   - EventChangeCipherSpec, EventAlert (Alert and AlertOK for a plaintext
//     alert in epoch 0), EventOther (heartbeat, a plaintext ACK);
//   - EventEncryptedHandshake: a handshake record in epoch 1 or later (the
//     DTLS 1.2 Finished);
//   - EventApplicationData: an application_data record, and every record
//     whose content type is hidden (DTLS 1.3 unified header, DTLS 1.2 with
//     a connection ID).
//
// Record is set for every kind but EventMessage. Msg and Record alias the
// datagram or the Reader's buffers until the next Write or Next.
type Event struct {
	tlsparse.Event
	// Epoch and Seq are the record's (for a message, its last fragment's
	// record); see Record.
	Epoch uint16
	Seq   uint64
	// MessageSeq is a message's message_seq.
	MessageSeq uint16
	// Unified and CID are the record's flags (see Record).
	Unified, CID bool
}

// Reader reads one direction of a DTLS flow, one UDP payload at a time.
// The zero value is ready to use.
type Reader struct {
	// CIDLen is the length of the connection IDs on records in this
	// direction, when known (RFC 9146; RFC 9147, Section 9); zero means
	// unknown, and a record with a connection ID then runs to the end of
	// its datagram.
	CIDLen int
	// Msgs reassembles the epoch-0 handshake fragments.
	Msgs Reassembler
	// Stats counts what the record layer saw; see Reader.Stats for the
	// total.
	Stats Stats

	dgram []byte // records still to read
	hs    []byte // handshake fragments still to read from the current record
	rec   Record // the current handshake record
}

// Write gives the Reader one UDP payload. It is borrowed, not copied, and
// must stay unchanged until the next Write (events alias it). Call Next
// until io.ErrUnexpectedEOF before the next Write: a Write before that
// drops what is left, counted as CountUndrained. A datagram that does not start with a DTLS content
// type (RFC 9147, Section 4.1: STUN, RTP and others share DTLS-SRTP flows)
// is skipped whole.
func (r *Reader) Write(datagram []byte) {
	r.Stats[CountDatagrams]++
	if len(r.dgram) > 0 || len(r.hs) > 0 {
		r.Stats[CountUndrained]++
	}
	r.dgram, r.hs = nil, nil
	if len(datagram) == 0 {
		return
	}
	if c := datagram[0]; c < 20 || c > 63 {
		r.Stats[CountNotDTLS]++
		return
	}
	r.dgram = datagram
}

// Flush gives up on handshake messages that are still missing so that the
// complete ones after them come out of Next (for the end of a flow).
func (r *Reader) Flush() { r.Msgs.Flush() }

// TotalStats returns the record layer's and the reassembler's counters
// together.
func (r *Reader) TotalStats() Stats {
	s := r.Stats
	s.Add(&r.Msgs.Stats)
	return s
}

// Next returns the next event, or io.ErrUnexpectedEOF when the datagrams
// written so far hold no more. An error wrapping tlsparse.ErrMalformed or
// tlsparse.ErrTooLarge reports a record or fragment that could not be
// read; the rest of its record (a bad fragment) or datagram (a bad
// record) is dropped and counted, and the Reader stays usable: call Next
// again.
func (r *Reader) Next() (Event, error) {
	for {
		if m, ok := r.Msgs.Next(); ok {
			return Event{
				Event: tlsparse.Event{Kind: tlsparse.EventMessage, Msg: m.Message},
				Epoch: r.rec.Epoch, Seq: r.rec.Seq, MessageSeq: m.Seq,
			}, nil
		}
		if len(r.hs) > 0 {
			f, rest, err := NextFragment(r.hs)
			if err != nil {
				r.hs = nil
				r.Msgs.Stats[CountFragmentMalformed]++
				return Event{}, err
			}
			r.hs = rest
			if err := r.Msgs.Add(f); err != nil {
				return Event{}, err
			}
			continue
		}
		if len(r.dgram) == 0 {
			r.dgram = nil
			return Event{}, io.ErrUnexpectedEOF
		}
		rec, rest, err := NextRecord(r.dgram, r.CIDLen)
		if err != nil {
			r.dgram = nil
			r.Stats[CountRecordMalformed]++
			return Event{}, err
		}
		r.dgram = rest
		r.Stats[CountRecords]++
		ev := Event{Epoch: rec.Epoch, Seq: rec.Seq, Unified: rec.Unified, CID: rec.CID}
		ev.Record = tlsparse.Record{Type: rec.Type, Version: rec.Version, Fragment: rec.Fragment}
		if rec.Encrypted() {
			r.Stats[CountRecordEncrypted]++
		}
		switch {
		case rec.Unified || rec.Type == RecordTLS12CID:
			ev.Kind = tlsparse.EventApplicationData
		case rec.Type == tlsparse.RecordHandshake && rec.Epoch != 0:
			r.Stats[CountHandshakeEncrypted]++
			ev.Kind = tlsparse.EventEncryptedHandshake
		case rec.Type == tlsparse.RecordHandshake:
			r.rec, r.hs = rec, rec.Fragment
			continue
		case rec.Type == tlsparse.RecordChangeCipherSpec:
			ev.Kind = tlsparse.EventChangeCipherSpec
		case rec.Type == tlsparse.RecordAlert:
			ev.Kind = tlsparse.EventAlert
			if rec.Epoch == 0 && len(rec.Fragment) == 2 {
				ev.Alert, ev.AlertOK = [2]byte{rec.Fragment[0], rec.Fragment[1]}, true
			}
		case rec.Type == tlsparse.RecordApplicationData:
			ev.Kind = tlsparse.EventApplicationData
		default:
			ev.Kind = tlsparse.EventOther
		}
		return ev, nil
	}
}
