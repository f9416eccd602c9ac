package dtls

import (
	"io"

	"github.com/tlsresume/tlsresume/tlsparse"
)

// RecordHeaderLen is the length of a DTLSPlaintext (and DTLS 1.0/1.2
// DTLSCiphertext) record header: type, version, epoch, 48-bit sequence
// number, length (RFC 6347, Section 4.1; RFC 9147, Section 4).
const RecordHeaderLen = 13

// MaxRecordLen bounds a record's fragment: 2^14 plus the 2048 bytes of
// expansion a DTLSCiphertext may add (RFC 6347, Section 4.1, via RFC 5246,
// Section 6.2.3).
const MaxRecordLen = 1<<14 + 2048

// Content types that TLS does not have.
const (
	// RecordTLS12CID is a DTLS 1.2 record with a connection ID (RFC 9146,
	// Section 4); its content is always encrypted.
	RecordTLS12CID tlsparse.RecordType = 25
	// RecordACK is a DTLS 1.3 ACK (RFC 9147, Section 7).
	RecordACK tlsparse.RecordType = 26
)

// VersionDTLSOpenSSLPre is the version OpenSSL used before DTLS 1.0 was
// published (OpenSSL's DTLS1_BAD_VER, still spoken by some Cisco
// AnyConnect gateways).
const VersionDTLSOpenSSLPre tlsparse.Version = 0x0100

// Record is one DTLS record. Fragment aliases the datagram.
type Record struct {
	// Type is the content type; zero for a unified-header record
	// (Unified), whose real type is encrypted.
	Type    tlsparse.RecordType
	Version tlsparse.Version // zero for a unified-header record
	// Epoch and Seq are the record's epoch and sequence number. In a
	// unified header they are only the low 2 bits of the epoch and the low
	// 8 or 16 bits of the (encrypted) sequence number.
	Epoch uint16
	Seq   uint64
	// Unified is set for a DTLS 1.3 DTLSCiphertext with a unified header
	// (RFC 9147, Section 4).
	Unified bool
	// CID is set when the record carries a connection ID (RFC 9146;
	// RFC 9147, Section 4).
	CID bool
	// Fragment is the record's content; for a record whose length could
	// not be known (no length field, or a connection ID of unknown length)
	// it runs to the end of the datagram.
	Fragment []byte
}

// Encrypted reports whether the record's content cannot be read: a
// record in an epoch after 0, a unified-header record, or a DTLS 1.2
// record with a connection ID.
func (r Record) Encrypted() bool {
	return r.Epoch != 0 || r.Unified || r.Type == RecordTLS12CID
}

// isDTLSVersion reports whether v is a record version DTLS uses: 0xfeXX
// (RFC 6347, Section 4.1; RFC 9147 keeps 0xfefd in DTLSPlaintext) or
// OpenSSL's pre-standard 0x0100.
func isDTLSVersion(hi, lo byte) bool {
	return hi == 0xfe || (hi == 0x01 && lo == 0x00)
}

// NextRecord reads the first record of datagram and returns it with the
// bytes that follow it (RFC 6347, Section 4.1.1: a datagram may hold
// several records). cidLen is the length of the connection IDs in this
// direction when the caller knows it (from the connection_id extension,
// RFC 9146), else 0. It returns io.ErrUnexpectedEOF for an empty
// datagram, and an error wrapping tlsparse.ErrMalformed or
// tlsparse.ErrTooLarge when the bytes are not a record: in a datagram
// nothing more will come, so a record cut short is malformed.
func NextRecord(datagram []byte, cidLen int) (Record, []byte, error) {
	b := datagram
	if len(b) == 0 {
		return Record{}, nil, io.ErrUnexpectedEOF
	}
	if b[0]&0xe0 == 0x20 {
		return unifiedRecord(b, cidLen)
	}
	if len(b) < RecordHeaderLen {
		return Record{}, nil, malformed("record header cut short")
	}
	// RFC 6347, Section 4.1: type, version, epoch, sequence_number (48
	// bits), length.
	t := tlsparse.RecordType(b[0])
	if t < tlsparse.RecordChangeCipherSpec || t > RecordACK || !isDTLSVersion(b[1], b[2]) {
		return Record{}, nil, malformed("record header is not DTLS")
	}
	r := Record{
		Type:    t,
		Version: tlsparse.Version(uint16(b[1])<<8 | uint16(b[2])),
		Epoch:   uint16(b[3])<<8 | uint16(b[4]),
		Seq:     uint64(b[5])<<40 | uint64(b[6])<<32 | uint64(b[7])<<24 | uint64(b[8])<<16 | uint64(b[9])<<8 | uint64(b[10]),
	}
	hdr := b[11:]
	if t == RecordTLS12CID {
		// RFC 9146, Section 4: the connection ID sits between the
		// sequence number and the length.
		r.CID = true
		if cidLen <= 0 || len(hdr) < cidLen+2 {
			r.Fragment = b[11:]
			return r, nil, nil
		}
		hdr = hdr[cidLen:]
	}
	n := int(hdr[0])<<8 | int(hdr[1])
	if n > MaxRecordLen {
		return Record{}, nil, tooLarge("record length")
	}
	if len(hdr)-2 < n {
		return Record{}, nil, malformed("record longer than its datagram")
	}
	r.Fragment = hdr[2 : 2+n]
	return r, hdr[2+n:], nil
}

// unifiedRecord reads a DTLS 1.3 unified header (RFC 9147, Section 4):
// 0b001CSLEE, then the connection ID if C, an 8- or 16-bit sequence
// number (S), a 16-bit length if L, else the record runs to the end of
// the datagram.
func unifiedRecord(b []byte, cidLen int) (Record, []byte, error) {
	flags := b[0]
	r := Record{Unified: true, Epoch: uint16(flags & 0x03), CID: flags&0x10 != 0}
	b = b[1:]
	if r.CID {
		if cidLen <= 0 {
			// The connection ID's length was negotiated; without it the
			// rest of the datagram is this record.
			r.Fragment = b
			return r, nil, nil
		}
		if len(b) < cidLen {
			return Record{}, nil, malformed("unified header cut short")
		}
		b = b[cidLen:]
	}
	seqLen := 1
	if flags&0x08 != 0 {
		seqLen = 2
	}
	if len(b) < seqLen {
		return Record{}, nil, malformed("unified header cut short")
	}
	for _, c := range b[:seqLen] {
		r.Seq = r.Seq<<8 | uint64(c)
	}
	b = b[seqLen:]
	if flags&0x04 == 0 {
		r.Fragment = b
		return r, nil, nil
	}
	if len(b) < 2 {
		return Record{}, nil, malformed("unified header cut short")
	}
	n := int(b[0])<<8 | int(b[1])
	if n > MaxRecordLen {
		return Record{}, nil, tooLarge("unified record length")
	}
	if len(b)-2 < n {
		return Record{}, nil, malformed("unified record longer than its datagram")
	}
	r.Fragment = b[2 : 2+n]
	return r, b[2+n:], nil
}

// Looks reports whether a UDP payload starts like the first datagram of a
// DTLS handshake: a handshake record (RFC 6347, Section 4.1) of a DTLS
// version in epoch 0 whose length fits the datagram, holding a
// ClientHello, HelloVerifyRequest or ServerHello fragment whose bounds fit
// the message (Section 4.2.2). It reads at most 25 bytes and allocates
// nothing, so a caller can try it on every new UDP flow and decide by
// content, never by port.
func Looks(datagram []byte) bool {
	b := datagram
	if len(b) < RecordHeaderLen+HandshakeHeaderLen || b[0] != byte(tlsparse.RecordHandshake) ||
		!isDTLSVersion(b[1], b[2]) || b[3] != 0 || b[4] != 0 {
		return false
	}
	n := int(b[11])<<8 | int(b[12])
	if n < HandshakeHeaderLen || n > len(b)-RecordHeaderLen {
		return false
	}
	h := b[RecordHeaderLen:]
	switch tlsparse.HandshakeType(h[0]) {
	case tlsparse.TypeClientHello, tlsparse.TypeHelloVerifyRequest, tlsparse.TypeServerHello:
	default:
		return false
	}
	length := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	off := int(h[6])<<16 | int(h[7])<<8 | int(h[8])
	flen := int(h[9])<<16 | int(h[10])<<8 | int(h[11])
	return flen <= n-HandshakeHeaderLen && off+flen <= length
}
