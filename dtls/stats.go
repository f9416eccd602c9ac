package dtls

// Counter names one anomaly or event the Reader and the Reassembler count.
// The names (String) are stable snake_case, for a summary's error table.
type Counter uint8

// Counters.
const (
	// CountDatagrams counts datagrams given to a Reader.
	CountDatagrams Counter = iota
	// CountRecords counts records read.
	CountRecords
	// CountNotDTLS counts datagrams whose first byte is not in DTLS's
	// range (20 to 63, RFC 9147, Section 4.1; RFC 7983): STUN, RTP, ... on
	// the same flow. They are skipped whole.
	CountNotDTLS
	// CountRecordMalformed counts records that could not be framed; the
	// rest of their datagram is dropped.
	CountRecordMalformed
	// CountRecordEncrypted counts records whose content is not readable:
	// epoch 1 or later, DTLS 1.3 unified headers, DTLS 1.2 with a
	// connection ID.
	CountRecordEncrypted
	// CountHandshakeEncrypted counts handshake records in epoch 1 or later
	// (the DTLS 1.2 Finished).
	CountHandshakeEncrypted
	// CountUndrained counts datagrams given to Write while records of the
	// previous one were still unread; those records are dropped.
	CountUndrained
	// CountFragments counts handshake fragments read.
	CountFragments
	// CountFragmentMalformed counts handshake fragments whose header does
	// not fit their record or their message; the rest of the record is
	// dropped.
	CountFragmentMalformed
	// CountRetransmitted counts fragments of a message already delivered
	// (a retransmitted flight, RFC 6347, Section 4.2.4); they are dropped.
	CountRetransmitted
	// CountFragmentDuplicate counts fragments whose bytes were all already
	// held.
	CountFragmentDuplicate
	// CountFragmentConflict counts fragments whose type or length differ
	// from earlier fragments of the same message_seq; they are dropped.
	CountFragmentConflict
	// CountSeqFar counts fragments whose message_seq is too far ahead of
	// the next expected one to be plausible; they are dropped.
	CountSeqFar
	// CountRangesFull counts fragments dropped because their message
	// already had too many disjoint pieces.
	CountRangesFull
	// CountPendingFull counts fragments dropped because too many messages
	// were incomplete.
	CountPendingFull
	// CountMessageTooLarge counts kept messages (ClientHello, ...) over the
	// bound; they are delivered without a body.
	CountMessageTooLarge
	// CountMessageAbandoned counts message_seq numbers given up without
	// delivering a message (never completed, or never seen).
	CountMessageAbandoned
	// CountMessages counts messages delivered.
	CountMessages

	numCounters
)

var counterNames = [numCounters]string{
	CountDatagrams:          "datagrams",
	CountRecords:            "records",
	CountNotDTLS:            "datagram_not_dtls",
	CountRecordMalformed:    "record_malformed",
	CountRecordEncrypted:    "record_encrypted",
	CountHandshakeEncrypted: "handshake_encrypted",
	CountUndrained:          "datagram_undrained",
	CountFragments:          "fragments",
	CountFragmentMalformed:  "fragment_malformed",
	CountRetransmitted:      "fragment_retransmitted",
	CountFragmentDuplicate:  "fragment_duplicate",
	CountFragmentConflict:   "fragment_conflict",
	CountSeqFar:             "message_seq_far",
	CountRangesFull:         "fragment_ranges_full",
	CountPendingFull:        "pending_full",
	CountMessageTooLarge:    "message_too_large",
	CountMessageAbandoned:   "message_abandoned",
	CountMessages:           "messages",
}

func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return "counter(?)"
}

// Stats holds one value per Counter.
type Stats [numCounters]uint64

// Add adds every counter of o to s.
func (s *Stats) Add(o *Stats) {
	for i := range s {
		s[i] += o[i]
	}
}

// Visit calls f for every non-zero counter, in Counter order.
func (s *Stats) Visit(f func(c Counter, n uint64)) {
	for i, n := range s {
		if n != 0 {
			f(Counter(i), n)
		}
	}
}
