package flows

import (
	"errors"
	"io"

	"github.com/tlsresume/tlsresume/dtls"
)

// dtlsConn is the DTLS state of one connection while its handshake is
// read: a dtls.Reader per direction (records with epochs, handshake
// fragments reassembled, retransmitted flights dropped), whose events go
// to the handshake reader as a TLS stream's do.
type dtlsConn struct {
	c       *conn
	readers [2]dtls.Reader
}

func (s *dtlsConn) datagram(d int, p []byte) {
	r := &s.readers[d]
	r.Write(p)
	for s.c.state == stateReading {
		ev, err := r.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil {
			// The reader stays usable: the rest of the datagram is read.
			s.c.w.count.DTLSMalformed++
			continue
		}
		s.c.hs.event(d, ev.Event)
	}
}

func (s *dtlsConn) unjudged(count *Counters) { count.NoHello++ }

func (s *dtlsConn) release() { s.readers = [2]dtls.Reader{} }
