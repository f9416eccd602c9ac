package tlsparse

import (
	"errors"
	"fmt"
	"io"
)

// EventKind says what a Stream found.
type EventKind uint8

// Event kinds.
const (
	// EventMessage is a plaintext handshake message (Event.Msg).
	EventMessage EventKind = iota + 1
	// EventSSLv2Hello is an SSLv2-compatible ClientHello (Event.Record).
	EventSSLv2Hello
	// EventChangeCipherSpec is a ChangeCipherSpec record.
	EventChangeCipherSpec
	// EventEncryptedHandshake is a handshake record read while the stream
	// is marked Encrypted: in TLS 1.2, the Finished after ChangeCipherSpec.
	EventEncryptedHandshake
	// EventAlert is an alert record; Alert holds level and description
	// when it was readable.
	EventAlert
	// EventApplicationData is an application_data record (in TLS 1.3 also
	// every encrypted handshake record).
	EventApplicationData
	// EventOther is any other record (heartbeat).
	EventOther
)

var eventKindNames = [...]string{EventMessage: "message", EventSSLv2Hello: "sslv2_hello",
	EventChangeCipherSpec: "change_cipher_spec", EventEncryptedHandshake: "encrypted_handshake",
	EventAlert: "alert", EventApplicationData: "application_data", EventOther: "other"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one thing a Stream found. Msg and Record alias the Stream's
// buffers until the next Write or Next.
type Event struct {
	Kind   EventKind
	Msg    Message
	Record Record
	// Alert is level and description of a plaintext alert
	// (RFC 8446, Section 6); AlertOK says it could be read.
	Alert   [2]byte
	AlertOK bool
}

// Stream reads one direction of a TLS connection: records, then handshake
// messages. The zero value is ready to use.
type Stream struct {
	// Encrypted makes handshake records opaque (EventEncryptedHandshake).
	// The caller sets it after a TLS 1.2 ChangeCipherSpec; it is not set
	// by the Stream itself because in TLS 1.3 a plaintext ClientHello may
	// follow a compatibility ChangeCipherSpec (RFC 8446, Appendix D.4).
	Encrypted bool

	Records Framer
	Msgs    Assembler
	err     error
}

// Write appends stream bytes. Once Next has returned an error other than
// io.ErrUnexpectedEOF, the stream is unreadable and Write drops them.
func (s *Stream) Write(p []byte) {
	if s.err != nil {
		return
	}
	s.Records.Write(p)
}

// Buffered returns the bytes held waiting for a complete record or message.
func (s *Stream) Buffered() int { return s.Records.Buffered() + s.Msgs.Buffered() }

// Next returns the next event, io.ErrUnexpectedEOF when more bytes are
// needed, or the first error that made the stream unreadable (it stays
// unreadable).
func (s *Stream) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	for {
		if !s.Encrypted {
			m, err := s.Msgs.Next()
			if err == nil {
				return Event{Kind: EventMessage, Msg: m}, nil
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				s.err = err
				return Event{}, err
			}
		}
		r, err := s.Records.Next()
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				s.err = err
			}
			return Event{}, err
		}
		switch r.Type {
		case RecordHandshake:
			switch {
			case r.SSLv2:
				return Event{Kind: EventSSLv2Hello, Record: r}, nil
			case s.Encrypted:
				return Event{Kind: EventEncryptedHandshake, Record: r}, nil
			}
			s.Msgs.Write(r.Fragment)
		case RecordChangeCipherSpec:
			return Event{Kind: EventChangeCipherSpec, Record: r}, nil
		case RecordAlert:
			ev := Event{Kind: EventAlert, Record: r}
			if !s.Encrypted && len(r.Fragment) == 2 {
				ev.Alert, ev.AlertOK = [2]byte{r.Fragment[0], r.Fragment[1]}, true
			}
			return ev, nil
		case RecordApplicationData:
			return Event{Kind: EventApplicationData, Record: r}, nil
		default:
			return Event{Kind: EventOther, Record: r}, nil
		}
	}
}
