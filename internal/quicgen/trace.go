package quicgen

import (
	"sync"

	"github.com/quic-go/quic-go/qlog"
	"github.com/quic-go/quic-go/qlogwriter"
)

// clientTrace is the qlog trace of one client connection. quic-go reports every packet it
// sends and receives, with its header and frames, to the Recorder; the trace keeps what the
// truth needs. It is quic-go's own account, independent of the recorder's reading of the
// wire, and the two are checked against each other.
type clientTrace struct {
	mu sync.Mutex
	// odcid is the Destination Connection ID of the first Initial the client sent.
	odcid    []byte
	haveDCID bool
	// received: some packet arrived. Until then the client is sending its first flight.
	received bool
	// helloPackets counts the Initial packets of the first flight with CRYPTO data not
	// sent before (a retransmission does not count); helloEnd is where that data ends.
	helloPackets int
	helloEnd     int64
	zeroRTT      int  // 0-RTT packets sent
	retry        bool // a Retry was received and accepted
}

var (
	_ qlogwriter.Trace    = (*clientTrace)(nil)
	_ qlogwriter.Recorder = (*clientTrace)(nil)
)

func (t *clientTrace) AddProducer() qlogwriter.Recorder { return t }

func (t *clientTrace) Close() error { return nil }

func (t *clientTrace) RecordEvent(ev qlogwriter.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case qlog.PacketSent:
		switch e.Header.PacketType {
		case qlog.PacketTypeInitial:
			if !t.haveDCID {
				t.haveDCID = true
				t.odcid = e.Header.DestConnectionID.Bytes()
			}
			if t.received {
				return
			}
			fresh := false
			for _, f := range e.Frames {
				if c, ok := f.Frame.(*qlog.CryptoFrame); ok && c.Offset+c.Length > t.helloEnd {
					t.helloEnd = c.Offset + c.Length
					fresh = true
				}
			}
			if fresh {
				t.helloPackets++
			}
		case qlog.PacketType0RTT:
			t.zeroRTT++
		}
	case qlog.PacketReceived:
		// quic-go records a Retry as received only once it has checked and accepted it
		// (connection.go, handleRetryPacket).
		if e.Header.PacketType == qlog.PacketTypeRetry {
			t.retry = true
			return
		}
		t.received = true
	}
}
