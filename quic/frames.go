package quic

import (
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// FrameType is a frame's type (RFC 9000, Section 19; RFC 9221,
// Section 4).
type FrameType uint64

const (
	FramePadding            FrameType = 0x00
	FramePing               FrameType = 0x01
	FrameAck                FrameType = 0x02
	FrameAckECN             FrameType = 0x03
	FrameResetStream        FrameType = 0x04
	FrameStopSending        FrameType = 0x05
	FrameCrypto             FrameType = 0x06
	FrameNewToken           FrameType = 0x07
	FrameStream             FrameType = 0x08 // 0x08-0x0f: OFF, LEN and FIN bits
	FrameMaxData            FrameType = 0x10
	FrameMaxStreamData      FrameType = 0x11
	FrameMaxStreamsBidi     FrameType = 0x12
	FrameMaxStreamsUni      FrameType = 0x13
	FrameDataBlocked        FrameType = 0x14
	FrameStreamDataBlocked  FrameType = 0x15
	FrameStreamsBlockedBidi FrameType = 0x16
	FrameStreamsBlockedUni  FrameType = 0x17
	FrameNewConnectionID    FrameType = 0x18
	FrameRetireConnectionID FrameType = 0x19
	FramePathChallenge      FrameType = 0x1a
	FramePathResponse       FrameType = 0x1b
	FrameConnectionClose    FrameType = 0x1c // transport error
	FrameConnectionCloseApp FrameType = 0x1d // application error
	FrameHandshakeDone      FrameType = 0x1e
	FrameDatagram           FrameType = 0x30 // RFC 9221: runs to the end of the packet
	FrameDatagramLen        FrameType = 0x31 // RFC 9221: with a length
)

var frameTypeNames = map[FrameType]string{
	FramePadding: "PADDING", FramePing: "PING", FrameAck: "ACK", FrameAckECN: "ACK_ECN",
	FrameResetStream: "RESET_STREAM", FrameStopSending: "STOP_SENDING", FrameCrypto: "CRYPTO",
	FrameNewToken: "NEW_TOKEN", FrameMaxData: "MAX_DATA", FrameMaxStreamData: "MAX_STREAM_DATA",
	FrameMaxStreamsBidi: "MAX_STREAMS_BIDI", FrameMaxStreamsUni: "MAX_STREAMS_UNI",
	FrameDataBlocked: "DATA_BLOCKED", FrameStreamDataBlocked: "STREAM_DATA_BLOCKED",
	FrameStreamsBlockedBidi: "STREAMS_BLOCKED_BIDI", FrameStreamsBlockedUni: "STREAMS_BLOCKED_UNI",
	FrameNewConnectionID: "NEW_CONNECTION_ID", FrameRetireConnectionID: "RETIRE_CONNECTION_ID",
	FramePathChallenge: "PATH_CHALLENGE", FramePathResponse: "PATH_RESPONSE",
	FrameConnectionClose: "CONNECTION_CLOSE", FrameConnectionCloseApp: "CONNECTION_CLOSE_APP",
	FrameHandshakeDone: "HANDSHAKE_DONE", FrameDatagram: "DATAGRAM", FrameDatagramLen: "DATAGRAM_LEN",
}

func (t FrameType) String() string {
	if t >= 0x08 && t <= 0x0f {
		return "STREAM"
	}
	if n, ok := frameTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("frame 0x%x", uint64(t))
}

// FrameMode says which frame types a payload may carry.
type FrameMode uint8

const (
	// FramesHandshake is for Initial and Handshake payloads: PADDING,
	// PING, ACK, CRYPTO and CONNECTION_CLOSE (RFC 9000, Section 12.4,
	// Table 3). The application CONNECTION_CLOSE (0x1d) is not allowed
	// there but is read all the same: a passive reader is lenient.
	FramesHandshake FrameMode = iota
	// FramesAll is for 0-RTT and 1-RTT payloads: every frame type of
	// RFC 9000, Section 19, and DATAGRAM (RFC 9221).
	FramesAll
)

// CryptoFrame is the content of a CRYPTO frame (RFC 9000, Section 19.6).
// Data aliases the payload.
type CryptoFrame struct {
	Offset uint64
	Data   []byte
}

// FrameReader walks the frames of a decrypted payload and returns its
// CRYPTO frames; every other frame it knows is skipped. The zero value
// reads nothing; call Reset. It allocates nothing.
type FrameReader struct {
	s    cryptobyte.String
	mode FrameMode
	err  error

	// Close is set by a CONNECTION_CLOSE frame (RFC 9000, Section 19.19).
	Close struct {
		Seen        bool
		Application bool   // 0x1d: an application error code
		Code        uint64 // error code
	}
}

// Reset starts reading payload in the given mode. payload is borrowed
// until the next Reset.
func (r *FrameReader) Reset(payload []byte, mode FrameMode) {
	r.s, r.mode, r.err = payload, mode, nil
	r.Close.Seen, r.Close.Application, r.Close.Code = false, false, 0
}

// Next returns the next CRYPTO frame, io.EOF after the last frame, or an
// error: wrapping ErrUnknownFrame at a frame type the mode does not
// allow (the frames before it were read), io.ErrUnexpectedEOF for a
// frame cut short, ErrMalformed for one that cannot be. Errors are
// sticky until Reset.
func (r *FrameReader) Next() (CryptoFrame, error) {
	if r.err != nil {
		return CryptoFrame{}, r.err
	}
	f, err := r.next()
	if err != nil {
		r.err = err
	}
	return f, err
}

func (r *FrameReader) next() (CryptoFrame, error) {
	s := &r.s
	for len(*s) > 0 {
		if (*s)[0] == 0 {
			// RFC 9000, Section 19.1: a run of PADDING frames, one byte
			// each, skipped at once.
			i := 1
			for i < len(*s) && (*s)[i] == 0 {
				i++
			}
			*s = (*s)[i:]
			continue
		}
		// RFC 9000, Section 12.4: the frame type is a varint.
		var t uint64
		if !readVarint(s, &t) {
			return CryptoFrame{}, fmt.Errorf("quic: frame type: %w", io.ErrUnexpectedEOF)
		}
		ft := FrameType(t)
		if !r.allowed(ft) {
			return CryptoFrame{}, fmt.Errorf("quic: %v in a handshake packet: %w", ft, ErrUnknownFrame)
		}
		if ft == FrameCrypto {
			// RFC 9000, Section 19.6: Offset, Length, Crypto Data.
			var off uint64
			var data []byte
			if !readVarint(s, &off) || !readVarintBytes(s, &data) {
				return CryptoFrame{}, fmt.Errorf("quic: CRYPTO: %w", io.ErrUnexpectedEOF)
			}
			if off+uint64(len(data)) > maxVarint {
				return CryptoFrame{}, fmt.Errorf("quic: CRYPTO: data past offset 2^62-1: %w", ErrMalformed)
			}
			return CryptoFrame{Offset: off, Data: data}, nil
		}
		if err := r.skip(ft); err != nil {
			return CryptoFrame{}, err
		}
	}
	return CryptoFrame{}, io.EOF
}

func (r *FrameReader) allowed(t FrameType) bool {
	switch t {
	case FramePadding, FramePing, FrameAck, FrameAckECN, FrameCrypto,
		FrameConnectionClose, FrameConnectionCloseApp:
		return true
	}
	return r.mode == FramesAll
}

// skip reads past the body of a frame of type t, already read.
func (r *FrameReader) skip(t FrameType) error {
	s := &r.s
	var v uint64
	var b []byte
	ok := true
	varints := func(n int) {
		for i := 0; ok && i < n; i++ {
			ok = readVarint(s, &v)
		}
	}
	switch {
	case t == FramePadding, t == FramePing, t == FrameHandshakeDone:
		// RFC 9000, Sections 19.1, 19.2, 19.20: no body.
	case t == FrameAck || t == FrameAckECN:
		// RFC 9000, Section 19.3: Largest Acknowledged, ACK Delay, ACK
		// Range Count, First ACK Range, ranges of (Gap, Length), and
		// for 0x03 the three ECN counts (Section 19.3.2).
		var ranges uint64
		ok = readVarint(s, &v) && readVarint(s, &v) && readVarint(s, &ranges) && readVarint(s, &v)
		// Each range takes at least two bytes: a count past that is
		// cut short, and the loop below stays bounded by the payload.
		if !ok {
			break
		}
		if ranges > uint64(len(*s))/2 {
			return fmt.Errorf("quic: %v: %d ranges: %w", t, ranges, io.ErrUnexpectedEOF)
		}
		varints(2 * int(ranges))
		if t == FrameAckECN {
			varints(3)
		}
	case t == FrameResetStream:
		varints(3) // RFC 9000, Section 19.4: Stream ID, Error Code, Final Size
	case t == FrameStopSending:
		varints(2) // RFC 9000, Section 19.5: Stream ID, Error Code
	case t == FrameNewToken:
		ok = readVarintBytes(s, &b) // RFC 9000, Section 19.7
	case t >= 0x08 && t <= 0x0f:
		// RFC 9000, Section 19.8: Stream ID, Offset if OFF (0x04),
		// Length if LEN (0x02), else the data runs to the end.
		varints(1)
		if t&0x04 != 0 {
			varints(1)
		}
		if !ok {
			break
		}
		if t&0x02 != 0 {
			ok = readVarintBytes(s, &b)
		} else {
			*s = (*s)[len(*s):]
		}
	case t == FrameMaxData, t == FrameMaxStreamsBidi, t == FrameMaxStreamsUni,
		t == FrameDataBlocked, t == FrameStreamsBlockedBidi, t == FrameStreamsBlockedUni,
		t == FrameRetireConnectionID:
		varints(1) // RFC 9000, Sections 19.9, 19.11-19.14, 19.16
	case t == FrameMaxStreamData, t == FrameStreamDataBlocked:
		varints(2) // RFC 9000, Sections 19.10, 19.13
	case t == FrameNewConnectionID:
		// RFC 9000, Section 19.15: Sequence Number, Retire Prior To,
		// Length (8 bits, 1..20), Connection ID, 16-byte Stateless
		// Reset Token.
		varints(2)
		var n uint8
		ok = ok && s.ReadUint8(&n)
		if ok && (n < 1 || n > MaxConnIDLen) {
			return fmt.Errorf("quic: %v: connection id of %d bytes: %w", t, n, ErrMalformed)
		}
		ok = ok && s.Skip(int(n)+16)
	case t == FramePathChallenge, t == FramePathResponse:
		ok = s.Skip(8) // RFC 9000, Sections 19.17, 19.18
	case t == FrameConnectionClose, t == FrameConnectionCloseApp:
		// RFC 9000, Section 19.19: Error Code, Frame Type (0x1c only),
		// Reason Phrase Length and Reason Phrase.
		var code uint64
		ok = readVarint(s, &code)
		if t == FrameConnectionClose {
			varints(1)
		}
		ok = ok && readVarintBytes(s, &b)
		if ok {
			r.Close.Seen, r.Close.Application, r.Close.Code = true, t == FrameConnectionCloseApp, code
		}
	case t == FrameDatagram:
		*s = (*s)[len(*s):] // RFC 9221, Section 4: to the end of the packet
	case t == FrameDatagramLen:
		ok = readVarintBytes(s, &b) // RFC 9221, Section 4
	default:
		return fmt.Errorf("quic: %v: %w", t, ErrUnknownFrame)
	}
	if !ok {
		return fmt.Errorf("quic: %v: %w", t, io.ErrUnexpectedEOF)
	}
	return nil
}
