// Package tlsparse reads the handshake part of TLS: records, handshake
// messages, and the few messages whose content tells whether a connection
// resumed a session.
//
// It has three layers, kept apart so that each can be used alone:
//
//   - [Framer] splits a byte stream into records (RFC 8446, Section 5.1;
//     RFC 5246, Section 6.2.1) and recognises the SSLv2-compatible
//     ClientHello (RFC 5246, Appendix E.2).
//   - [Assembler] turns handshake bytes into handshake messages
//     (RFC 8446, Section 4). It takes bare handshake bytes, so QUIC CRYPTO
//     frames, which have no record layer, can be fed to it directly.
//   - Parsers for the messages that matter: [ParseClientHello],
//     [ParseServerHello] (with HelloRetryRequest) and [ParseNewSessionTicket]
//     (TLS 1.2, RFC 5077). Other messages (Certificate, ServerKeyExchange,
//     ServerHelloDone, ClientKeyExchange, ...) are only noted as present:
//     their bodies are skipped without being buffered.
//
// [Stream] ties the layers together for one direction of a TCP connection
// and knows when records stop being readable (after ChangeCipherSpec).
//
// What it deliberately does not do: decrypt anything, validate
// cryptography, or enforce the ordering rules a TLS stack enforces. A
// passive reader is lenient where a stack is strict: unknown extensions are
// skipped and kept in wire order, duplicate extensions are reported as
// notes, not failures.
//
// Errors: a short input is never malformed. Framers return
// [io.ErrUnexpectedEOF] when they need more bytes, and a descriptive error
// (wrapping [ErrMalformed] or [ErrTooLarge]) when the bytes cannot be TLS.
//
// Buffers: [Framer] and [Assembler] borrow the slice given to Write and
// read whole records and messages straight out of it; only a remainder
// that waits for more bytes is copied into a buffer they own, at the
// latest when Next returns io.ErrUnexpectedEOF. The caller keeps the slice
// unchanged until then. The slices they return alias the input or their
// buffers and are valid until the next Write or Next. Parsed messages keep
// slices into the message body they were parsed from; callers copy what
// they keep (session IDs, tickets, SNI).
// Every length read off the wire is bounded before anything is buffered.
//
// The package imports only the standard library and
// golang.org/x/crypto/cryptobyte.
package tlsparse
