package flows

// transport is the boundary between a worker and the protocol that
// carries TLS handshakes: TCP (tcp.go), and over UDP (udp.go) QUIC
// (quic.go) and DTLS (dtls.go). A worker
// has one of each; the transport keeps its per-worker state (TCP's
// reassembler) and, for each connection, a connStream. It turns packets
// into handshake events (records and messages per direction) for the
// connection's handshake reader (handshake.go), which alone decides when
// the verdict is known.
//
// Adding a transport is adding a file set that implements transport and
// connStream, and a case where the worker picks the transport (worker.packet)
// and, for a new IP protocol, where the front finds its flows; the
// verdict, the sessions and the output do not change. A connStream may
// also have a facts(*verdict.Observation) method to add what only its
// transport knows (QUIC's version, Retry, 0-RTT packets).
//
// Every method runs on the worker's goroutine.
type transport interface {
	// decode reads the transport header of a packet (it.hdr says where it
	// is in data). It reports false for a packet that cannot be decoded
	// (counted as decode_errors by the worker).
	decode(it *item, data []byte) bool
	// packet takes the packet that decode just read, for connection c.
	packet(c *conn, it *item, data []byte)
	// tick runs every tickInterval of capture time, after the worker's
	// clock moved: data waited for past GapTimeout is given up.
	tick()
	// trim runs after each batch: state kept for idle connections may be
	// let go of.
	trim()
	// flush runs at the end of input, before every connection still being
	// read is finished.
	flush()
}

// connStream is a transport's state for one connection.
type connStream interface {
	// unjudged counts why a finished connection that showed no hello gave
	// nothing (flows_without_hello, flows_not_tls).
	unjudged(count *Counters)
	// release drops the buffers of a finished connection.
	release()
}
