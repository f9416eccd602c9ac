package tlsparse

import (
	"fmt"
	"io"
)

// HandshakeHeaderLen is the length of a handshake message header: type and
// a 24-bit length (RFC 8446, Section 4).
const HandshakeHeaderLen = 4

// DefaultMaxMessage bounds the body of a handshake message that is kept for
// parsing (ClientHello, ServerHello, NewSessionTicket). Real ClientHellos,
// post-quantum key shares included, are a few kilobytes.
const DefaultMaxMessage = 64 << 10

// Message is one handshake message. Body is set only for the message types
// this package parses (see [Kept]); for the others only the type and the
// announced length are known, and their bodies are skipped unbuffered.
// Body aliases the Assembler's buffer until its next Write or Next.
type Message struct {
	Type   HandshakeType
	Length int
	Body   []byte
}

// Kept reports whether the Assembler buffers messages of type t for
// parsing. Everything else is only noted as present.
func Kept(t HandshakeType) bool {
	switch t {
	case TypeClientHello, TypeServerHello, TypeNewSessionTicket, TypeHelloVerifyRequest:
		return true
	}
	return false
}

// Assembler turns a stream of handshake bytes into messages: a record may
// hold several messages and a message may span records (RFC 8446,
// Section 5.1). It takes bare handshake bytes, as QUIC CRYPTO frames carry
// them. The zero value is ready to use.
type Assembler struct {
	// Max bounds a kept message's body; zero means DefaultMaxMessage.
	Max int
	// Keep, when set, says which message types are kept instead of
	// [Kept] (a decrypted TLS 1.3 flight keeps EncryptedExtensions and
	// NewSessionTicket, say).
	Keep func(HandshakeType) bool

	w    window
	skip int   // body bytes of a skipped message still to come
	err  error // sticky: once set, Write drops bytes and Next returns it
}

// Write adds handshake bytes. Bytes that belong to the body of a skipped
// message are dropped at once, and so is everything after Next returned an
// error other than io.ErrUnexpectedEOF, until Reset. As with Framer.Write,
// p is borrowed until Next returns io.ErrUnexpectedEOF or Write is called
// again.
func (a *Assembler) Write(p []byte) {
	if a.err != nil {
		return
	}
	if a.skip > 0 {
		n := min(a.skip, len(p))
		a.skip -= n
		p = p[n:]
	}
	a.w.write(p)
}

// Buffered returns how many bytes wait for the rest of a message.
func (a *Assembler) Buffered() int { return a.w.len() }

// Reset drops every buffered byte, any pending skip and a sticky error.
func (a *Assembler) Reset() { a.w.reset(); a.skip, a.err = 0, nil }

// Next returns the next message, io.ErrUnexpectedEOF if more bytes are
// needed, or an error wrapping ErrTooLarge for a kept message announced
// over the bound. A skipped message is returned as soon as its header is
// complete. An error other than io.ErrUnexpectedEOF is sticky.
func (a *Assembler) Next() (Message, error) {
	m, err := a.next()
	if err == io.ErrUnexpectedEOF {
		a.w.own()
	}
	return m, err
}

func (a *Assembler) next() (Message, error) {
	if a.err != nil {
		return Message{}, a.err
	}
	b := a.w.bytes()
	if len(b) < HandshakeHeaderLen {
		return Message{}, io.ErrUnexpectedEOF
	}
	t := HandshakeType(b[0])
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	keep := Kept(t)
	if a.Keep != nil {
		keep = a.Keep(t)
	}
	if !keep {
		avail := min(n, len(b)-HandshakeHeaderLen)
		a.w.advance(HandshakeHeaderLen + avail)
		a.skip = n - avail
		return Message{Type: t, Length: n}, nil
	}
	limit := a.Max
	if limit <= 0 {
		limit = DefaultMaxMessage
	}
	if n > limit {
		a.err = fmt.Errorf("tlsparse: %v of %d bytes over the %d-byte bound: %w", t, n, limit, ErrTooLarge)
		return Message{}, a.err
	}
	if len(b) < HandshakeHeaderLen+n {
		return Message{}, io.ErrUnexpectedEOF
	}
	a.w.advance(HandshakeHeaderLen + n)
	return Message{Type: t, Length: n, Body: b[HandshakeHeaderLen : HandshakeHeaderLen+n]}, nil
}
