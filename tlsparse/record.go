package tlsparse

import (
	"fmt"
	"io"
)

// RecordHeaderLen is the length of a TLS record header (RFC 8446, Section 5.1).
const RecordHeaderLen = 5

// MaxRecordLen bounds a record's fragment: 2^14 plus the 2048 bytes of
// expansion TLS 1.2 allows a TLSCiphertext (RFC 5246, Section 6.2.3).
const MaxRecordLen = 1<<14 + 2048

// Record is one TLS record. Fragment aliases the Framer's buffer.
type Record struct {
	Type     RecordType
	Version  Version
	Fragment []byte
	// SSLv2 is set for an SSLv2-compatible ClientHello (RFC 5246,
	// Appendix E.2); Type is then RecordHandshake and Fragment holds the
	// SSLv2 message, starting with its msg_type byte.
	SSLv2 bool
}

// PlausibleRecordHeader reports whether b starts with something that
// looks like a TLS record header: a known content type, major version 3,
// minor version at most 4, and a length within bounds. It is used to find
// TLS after a plaintext preamble (STARTTLS) and to resynchronise after a
// gap.
func PlausibleRecordHeader(b []byte) bool {
	if len(b) < RecordHeaderLen {
		return false
	}
	t := RecordType(b[0])
	if t < RecordChangeCipherSpec || t > RecordHeartbeat {
		return false
	}
	if b[1] != 3 || b[2] > 4 {
		return false
	}
	n := int(b[3])<<8 | int(b[4])
	return n > 0 && n <= MaxRecordLen
}

// LooksLikeSSLv2Hello reports whether b starts with an SSLv2-compatible
// ClientHello header: a two-byte length with the high bit set, msg_type 1
// and a version of SSL 2.0 or 3.x (RFC 5246, Appendix E.2).
func LooksLikeSSLv2Hello(b []byte) bool {
	if len(b) < 5 || b[0]&0x80 == 0 || b[2] != 1 {
		return false
	}
	n := int(b[0]&0x7f)<<8 | int(b[1])
	if n < 9 {
		return false
	}
	return (b[3] == 0 && b[4] == 2) || (b[3] == 3 && b[4] <= 4)
}

// Framer splits a byte stream into records. The zero value is ready to use.
//
// Bytes given to Write are borrowed (see Write); the Record returned by
// Next aliases the caller's slice or the Framer's buffer until the next
// call to Write or Next.
type Framer struct {
	w    window
	seen bool // a record has been returned; SSLv2 is only allowed first
}

// Write adds stream bytes. p is borrowed, not copied, until Next returns
// io.ErrUnexpectedEOF or Write is called again: p must not change before
// then. Whatever is still needed is copied by then.
func (f *Framer) Write(p []byte) { f.w.write(p) }

// Buffered returns how many bytes are waiting for the rest of a record.
func (f *Framer) Buffered() int { return f.w.len() }

// Reset drops buffered bytes, for example after a gap in the stream.
func (f *Framer) Reset() { f.w.reset() }

// Next returns the next complete record, io.ErrUnexpectedEOF if more bytes
// are needed, or an error wrapping ErrMalformed or ErrTooLarge if the
// buffered bytes do not start with a record.
func (f *Framer) Next() (Record, error) {
	r, err := f.next()
	if err == io.ErrUnexpectedEOF {
		f.w.own()
	}
	return r, err
}

func (f *Framer) next() (Record, error) {
	b := f.w.bytes()
	if len(b) == 0 {
		return Record{}, io.ErrUnexpectedEOF
	}
	if !f.seen && b[0]&0x80 != 0 {
		// RFC 5246, Appendix E.2: the SSLv2-compatible ClientHello has a
		// two-byte header with the high bit set and no padding.
		if len(b) < 5 {
			return Record{}, io.ErrUnexpectedEOF
		}
		if !LooksLikeSSLv2Hello(b) {
			return Record{}, fmt.Errorf("tlsparse: record header % x is not TLS: %w", b[:5], ErrMalformed)
		}
		n := int(b[0]&0x7f)<<8 | int(b[1])
		if len(b) < 2+n {
			return Record{}, io.ErrUnexpectedEOF
		}
		f.w.advance(2 + n)
		f.seen = true
		return Record{Type: RecordHandshake, Version: VersionSSL20, Fragment: b[2 : 2+n], SSLv2: true}, nil
	}
	if len(b) < RecordHeaderLen {
		if !plausiblePrefix(b) {
			return Record{}, fmt.Errorf("tlsparse: record header % x is not TLS: %w", b, ErrMalformed)
		}
		return Record{}, io.ErrUnexpectedEOF
	}
	// RFC 8446, Section 5.1: type, legacy_record_version, length.
	t, v := RecordType(b[0]), Version(uint16(b[1])<<8|uint16(b[2]))
	n := int(b[3])<<8 | int(b[4])
	if t < RecordChangeCipherSpec || t > RecordHeartbeat || b[1] != 3 {
		return Record{}, fmt.Errorf("tlsparse: record header % x is not TLS: %w", b[:5], ErrMalformed)
	}
	if n > MaxRecordLen {
		return Record{}, fmt.Errorf("tlsparse: %v record of %d bytes: %w", t, n, ErrTooLarge)
	}
	if len(b) < RecordHeaderLen+n {
		return Record{}, io.ErrUnexpectedEOF
	}
	f.w.advance(RecordHeaderLen + n)
	f.seen = true
	return Record{Type: t, Version: v, Fragment: b[RecordHeaderLen : RecordHeaderLen+n]}, nil
}

// plausiblePrefix reports whether a header prefix shorter than five bytes
// could still become a plausible record header.
func plausiblePrefix(b []byte) bool {
	if len(b) >= 1 && (RecordType(b[0]) < RecordChangeCipherSpec || RecordType(b[0]) > RecordHeartbeat) {
		return false
	}
	if len(b) >= 2 && b[1] != 3 {
		return false
	}
	return true
}
