// Package dtls reads the handshake of DTLS 1.0, 1.2 and 1.3 (RFC 4347,
// RFC 6347, RFC 9147) from UDP payloads, as a passive observer, and hands
// the complete handshake messages to tlsparse's parsers.
//
// Layers, each usable alone:
//
//   - [Looks] sniffs a UDP payload: does it start a DTLS handshake? The
//     caller decides by content, never by port, that a flow is DTLS.
//   - [NextRecord] walks the records of one datagram (RFC 6347,
//     Section 4.1: a datagram may hold several). DTLS 1.3 encrypted
//     records with the unified header (RFC 9147, Section 4) are recognised
//     and skipped, never opened; so are records in epoch 1 or later.
//   - [NextFragment] reads the 12-byte handshake headers in an epoch-0
//     handshake record, and [Reassembler] puts fragments back together per
//     message_seq (RFC 6347, Section 4.2.2): in any order, overlapping or
//     repeated; a message_seq already delivered (a retransmitted flight) is
//     dropped and counted.
//   - [Reader] ties them together for one direction of a flow and returns
//     [Event] values that embed tlsparse.Event, so the pipeline can treat
//     DTLS and TLS alike.
//   - [ClientHelloTLS] removes the cookie from a DTLS ClientHello so that
//     tlsparse.ParseClientHello reads it; [ParseHelloVerifyRequest] reads
//     the cookie challenge. A ServerHello (and a DTLS 1.3
//     HelloRetryRequest, whose cookie is an extension, RFC 9147,
//     Section 5.1) already has the TLS layout: use
//     tlsparse.ParseServerHello.
//
// Resumption: DTLS follows TLS's rules (DTLS 1.2 those of TLS 1.2, DTLS
// 1.3 those of TLS 1.3). A server that sends a HelloVerifyRequest (or a
// DTLS 1.3 HelloRetryRequest with a cookie) has kept no state for the
// first ClientHello: judge on the ClientHello that carries the cookie,
// the one the ServerHello answers.
//
// What it deliberately does not do: decrypt anything, keep application
// data, track retransmission timers, or follow a renegotiation. Only
// epoch-0 handshake records are read; anything later (the DTLS 1.2
// Finished after ChangeCipherSpec, every DTLS 1.3 record after the
// hellos) is only counted. The connection ID's length is negotiated, so a
// record carrying one is skipped to the end of its datagram unless the
// caller sets Reader.CIDLen.
//
// Bounds: a kept message (tlsparse.Kept) is buffered only after its
// announced length is checked against Reassembler.MaxMessage (default
// tlsparse.DefaultMaxMessage, 64 KiB); other messages (Certificate, ...)
// are tracked by the byte ranges seen, never buffered. At most
// Reassembler.MaxPending messages wait incomplete or out of order, each in
// at most 32 pieces; what never completes is abandoned when room is
// needed or at Flush, and counted. Every anomaly has a [Counter].
//
// Errors: a datagram is whole, so a record cut short is malformed, not
// "need more bytes"; io.ErrUnexpectedEOF from Reader.Next only says the
// datagrams written so far are used up. Errors wrap tlsparse.ErrMalformed
// or tlsparse.ErrTooLarge and never make a Reader unusable.
//
// Buffers: Reader.Write borrows the datagram, which must stay unchanged
// until the next Write; only fragments that must wait are copied. A message that came whole in one fragment aliases
// the datagram; a reassembled one aliases the Reassembler's buffer. Either
// way Event.Msg.Body and Event.Record are valid until the next Write or
// Next; callers copy what they keep. One Reader is used by one goroutine.
//
// The package imports only the standard library, cryptobyte and tlsparse.
package dtls
