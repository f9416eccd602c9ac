// Package quic reads the TLS handshake out of QUIC packets (RFC 9000,
// RFC 9001; version 2, RFC 9369) as a passive observer. It is given UDP
// payloads, one datagram at a time, and never sees IP or UDP headers.
//
// Layers, each usable alone:
//
//   - Headers: [NextPacket] parses the packet at the start of a datagram
//     and returns the bytes after it, so coalesced packets (RFC 9000,
//     Section 12.2) are walked one by one. Long headers (Section 17.2):
//     Initial, 0-RTT, Handshake and Retry of versions 1 and 2 (the
//     versions number their packet types differently, RFC 9369,
//     Section 3.2), and Version Negotiation (Section 17.2.1) with its
//     version list. Short headers (Section 17.3.1) need the Destination
//     Connection ID length, which only the connection knows. [Looks] is
//     a content sniff, a few nanoseconds on UDP that is not QUIC, for
//     deciding by content, never by port, that a flow is QUIC.
//   - Keys: [InitialKeys] derives both directions' Initial keys from the
//     client's first Destination Connection ID, or from a Retry's Source
//     Connection ID (RFC 9001, Section 5.2; RFC 9369, Section 3.3.1).
//     [NewKeys] derives keys from a TLS 1.3 traffic secret of a key log
//     for the Handshake, 0-RTT and 1-RTT spaces, with AES-128-GCM,
//     AES-256-GCM or ChaCha20-Poly1305 (Section 5.3); [Keys.Next] is a
//     key update (Section 6).
//   - Opening: an [Opener] per packet number space and direction removes
//     header protection (RFC 9001, Section 5.4), expands the packet
//     number against the largest one it opened (RFC 9000, Section 17.1,
//     Appendix A.3), opens the AEAD with nonce = iv XOR packet number
//     (RFC 9001, Section 5.3), and follows 1-RTT key phases.
//   - Frames: [FrameReader] walks a decrypted payload and returns its
//     CRYPTO frames (RFC 9000, Section 19.6). In [FramesHandshake] mode
//     (Initial, Handshake) it skips PADDING, PING, ACK and
//     CONNECTION_CLOSE and stops with [ErrUnknownFrame] at anything else
//     (Section 12.4, Table 3); in [FramesAll] mode (0-RTT, 1-RTT) it
//     skips every frame type of Section 19 and DATAGRAM (RFC 9221).
//   - Reassembly: a [CryptoStream] per space and direction takes CRYPTO
//     data in any order, duplicated or overlapping, and yields the
//     contiguous prefix: bare TLS handshake messages, for
//     tlsparse.Assembler (which takes handshake bytes without a record
//     layer).
//   - Retry: [CheckRetry] verifies the Retry Integrity Tag (RFC 9001,
//     Section 5.8; RFC 9369, Section 3.3.3) and returns the new Source
//     Connection ID from which the client's next Initial keys come.
//
// What it deliberately does not do: keep connection state (no state
// machine, no connection ID tracking: the caller keeps one Opener and
// CryptoStream per space and direction and knows the short-header
// connection ID length), retransmit, acknowledge or send anything, or
// keep 1-RTT application data: STREAM and DATAGRAM frames are skipped
// unread. Draft versions of QUIC and Google QUIC are not read
// ([ErrUnknownVersion]). A passive reader is lenient: non-minimal
// varints are accepted, reserved header bits are not checked, and an
// application CONNECTION_CLOSE in an Initial is read like the transport
// one.
//
// Buffers: a [Packet]'s slices alias the datagram it was parsed from,
// which is never written to. [Opener.Open] decrypts into the Opener's
// own buffer; the payload it returns is valid until the next Open on the
// same Opener. [CryptoFrame.Data] aliases that payload. [CryptoStream]
// copies what it keeps; the slice Read returns is valid until the next
// Push. After their buffers have grown once, opening a packet, walking
// its frames and reassembling them allocate nothing (pinned by
// TestAllocs); ChaCha20 header protection allocates a cipher per packet.
// Every length read off the wire is bounded before it sizes anything:
// CryptoStream refuses data past MaxOffset or MaxBuffered with
// [ErrCryptoBound].
//
// Errors wrap a sentinel ([ErrMalformed], [ErrUnknownVersion],
// [ErrDecrypt], [ErrUnknownFrame], [ErrCryptoBound],
// [ErrRetryIntegrity]) or io.ErrUnexpectedEOF for a length that runs
// past the datagram or payload; [Reason] names a counter for each.
// [Keys] are immutable and safe for concurrent use; nothing else is.
//
// The package imports only the standard library, golang.org/x/crypto's
// cryptobyte, chacha20 and chacha20poly1305, never a packet library.
package quic
