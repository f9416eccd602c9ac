package tlsparse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// ev is an Event reduced to what the tests compare.
type ev struct {
	kind EventKind
	typ  HandshakeType // for EventMessage
}

func (e ev) String() string {
	if e.kind == EventMessage {
		return e.typ.String()
	}
	return map[EventKind]string{
		EventSSLv2Hello:         "sslv2_hello",
		EventChangeCipherSpec:   "CCS",
		EventEncryptedHandshake: "encrypted_handshake",
		EventAlert:              "alert",
		EventApplicationData:    "app_data",
		EventOther:              "other",
	}[e.kind]
}

func msgEv(t HandshakeType) ev { return ev{EventMessage, t} }

var (
	evCCS       = ev{kind: EventChangeCipherSpec}
	evEncrypted = ev{kind: EventEncryptedHandshake}
	evAppData   = ev{kind: EventApplicationData}
)

// streamEvents feeds chunks to a new Stream, draining it after each. With
// tls12 set it marks the stream Encrypted after ChangeCipherSpec, as a
// caller that knows the version does. It returns the events, the last
// largest Buffered seen after a drain, and the last error.
func streamEvents(chunks [][]byte, tls12 bool) (evs []ev, maxBuffered int, err error) {
	var s Stream
	for _, c := range chunks {
		s.Write(c)
		for {
			var e Event
			e, err = s.Next()
			if err != nil {
				break
			}
			evs = append(evs, ev{e.Kind, e.Msg.Type})
			if e.Kind == EventChangeCipherSpec && tls12 {
				s.Encrypted = true
			}
		}
		maxBuffered = max(maxBuffered, s.Buffered())
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
	}
	return evs, maxBuffered, err
}

func equalEvents(t *testing.T, got, want []ev) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

// TestStreamGo reads every recorded direction whole, write by write and
// byte by byte.
func TestStreamGo(t *testing.T) {
	h := recordGoHandshakes(t)
	tls13Encrypted := func(n int) []ev { // EncryptedExtensions... as app data
		evs := make([]ev, n)
		for i := range evs {
			evs[i] = evAppData
		}
		return evs
	}
	for _, tt := range []struct {
		c      *goConn
		server bool
		want   []ev
	}{
		// The server side of a full TLS 1.2 handshake: first flight, then
		// ticket, ChangeCipherSpec, Finished, and the application data byte.
		{h.tls12Full, true, []ev{msgEv(TypeServerHello), msgEv(TypeCertificate), msgEv(TypeServerKeyExchange),
			msgEv(TypeServerHelloDone), msgEv(TypeNewSessionTicket), evCCS, evEncrypted, evAppData}},
		{h.tls12Full, false, []ev{msgEv(TypeClientHello), msgEv(TypeClientKeyExchange), evCCS, evEncrypted}},
		// Abbreviated: no Certificate, ServerKeyExchange, ServerHelloDone.
		{h.tls12Resumed, true, []ev{msgEv(TypeServerHello), msgEv(TypeNewSessionTicket), evCCS, evEncrypted, evAppData}},
		{h.tls12Resumed, false, []ev{msgEv(TypeClientHello), evCCS, evEncrypted}},
		// TLS 1.3: EncryptedExtensions, Certificate, CertificateVerify,
		// Finished and NewSessionTicket are application_data records.
		{h.tls13Full, true, append([]ev{msgEv(TypeServerHello), evCCS}, tls13Encrypted(6)...)},
		{h.tls13Full, false, []ev{msgEv(TypeClientHello), evCCS, evAppData}},
		{h.tls13Resumed, true, append([]ev{msgEv(TypeServerHello), evCCS}, tls13Encrypted(4)...)},
		{h.tls13Resumed, false, []ev{msgEv(TypeClientHello), evCCS, evAppData}},
		// HelloRetryRequest: a plaintext ClientHello after the compatibility
		// ChangeCipherSpec, which is why the Stream does not encrypt itself.
		{h.tls13HRR, true, append([]ev{msgEv(TypeServerHello), evCCS, msgEv(TypeServerHello)}, tls13Encrypted(5)...)},
		{h.tls13HRR, false, []ev{msgEv(TypeClientHello), evCCS, msgEv(TypeClientHello), evAppData}},
	} {
		writes, side := tt.c.client, "client"
		if tt.server {
			writes, side = tt.c.server, "server"
		}
		stream := bytes.Join(writes, nil)
		for _, feed := range []struct {
			name   string
			chunks [][]byte
		}{
			{"whole", [][]byte{stream}},
			{"writes", writes},
			{"bytes", bytesOneByOne(stream)},
		} {
			t.Run(tt.c.name+"/"+side+"/"+feed.name, func(t *testing.T) {
				got, _, err := streamEvents(feed.chunks, tt.c.tls12())
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("last error %v", err)
				}
				equalEvents(t, got, tt.want)
			})
		}
	}
}

// TestStreamTLS12ServerFlight checks the Messages and Records a Stream
// hands out for the server side of a full TLS 1.2 handshake, and that
// nothing stays buffered.
func TestStreamTLS12ServerFlight(t *testing.T) {
	h := recordGoHandshakes(t)
	c := h.tls12Full
	raw := goMessages(t, c, true)
	var s Stream
	s.Write(c.serverBytes())
	var msgs []gotMsg
	for {
		e, err := s.Next()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case EventMessage:
			m := gotMsg{typ: e.Msg.Type, length: e.Msg.Length}
			if e.Msg.Body != nil {
				m.body = bytes.Clone(e.Msg.Body)
			}
			msgs = append(msgs, m)
		case EventChangeCipherSpec:
			if !bytes.Equal(e.Record.Fragment, []byte{1}) || e.Record.Version != VersionTLS12 {
				t.Errorf("ChangeCipherSpec record %+v", e.Record)
			}
			s.Encrypted = true
		case EventEncryptedHandshake:
			// Finished under AES-GCM: 8-byte explicit nonce, 16 bytes of
			// message, 16-byte tag (RFC 5288, Section 3).
			if len(e.Record.Fragment) != 40 || e.Record.Type != RecordHandshake {
				t.Errorf("encrypted Finished of %d bytes", len(e.Record.Fragment))
			}
		case EventApplicationData:
			if len(e.Record.Fragment) != 8+1+16 {
				t.Errorf("application data of %d bytes", len(e.Record.Fragment))
			}
		default:
			t.Errorf("unexpected event %v", e.Kind)
		}
	}
	equalMessages(t, msgs, expectedMessages(raw))
	if s.Buffered() != 0 {
		t.Errorf("Buffered %d at the end", s.Buffered())
	}
}

func TestStreamRecords(t *testing.T) {
	alert := asRecord(RecordAlert, VersionTLS12, []byte{2, 40}) // fatal handshake_failure
	for _, tt := range []struct {
		name      string
		in        []byte
		encrypted bool
		want      []ev
		alert     [2]byte
		alertOK   bool
		err       error
	}{
		{"plaintext alert", alert, false, []ev{{kind: EventAlert}}, [2]byte{2, 40}, true, io.ErrUnexpectedEOF},
		{"encrypted alert", asRecord(RecordAlert, VersionTLS12, make([]byte, 26)), true, []ev{{kind: EventAlert}}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"alert of three bytes", asRecord(RecordAlert, VersionTLS12, []byte{2, 40, 0}), false, []ev{{kind: EventAlert}}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"alert while encrypted", alert, true, []ev{{kind: EventAlert}}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"heartbeat", asRecord(RecordHeartbeat, VersionTLS12, []byte{1, 0, 0}), false, []ev{{kind: EventOther}}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"sslv2 hello", testSSLv2Hello, false, []ev{{kind: EventSSLv2Hello}}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"empty handshake record", asRecord(RecordHandshake, VersionTLS12, nil), false, nil, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"encrypted handshake", asRecord(RecordHandshake, VersionTLS12, make([]byte, 40)), true, []ev{evEncrypted}, [2]byte{}, false, io.ErrUnexpectedEOF},
		{"http", []byte("GET / HTTP/1.1\r\n"), false, nil, [2]byte{}, false, ErrMalformed},
		{"oversized record", []byte{0x16, 3, 1, 0xff, 0xff}, false, nil, [2]byte{}, false, ErrTooLarge},
		{"oversized client hello", asRecord(RecordHandshake, VersionTLS10, []byte{1, 0xff, 0xff, 0xff, 3, 3}), false, nil, [2]byte{}, false, ErrTooLarge},
		{"message then garbage", append(asRecord(RecordHandshake, VersionTLS12, withHeader(TypeServerHelloDone, nil)), "garbage"...),
			false, []ev{msgEv(TypeServerHelloDone)}, [2]byte{}, false, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Stream{Encrypted: tt.encrypted}
			s.Write(tt.in)
			var got []ev
			var err error
			for {
				var e Event
				e, err = s.Next()
				if err != nil {
					break
				}
				got = append(got, ev{e.Kind, e.Msg.Type})
				if e.Kind == EventAlert && (e.Alert != tt.alert || e.AlertOK != tt.alertOK) {
					t.Errorf("alert %v ok %v, want %v %v", e.Alert, e.AlertOK, tt.alert, tt.alertOK)
				}
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			equalEvents(t, got, tt.want)
		})
	}
}

// TestStreamStopsAfterError feeds a megabyte after the stream became
// unreadable: nothing of it is kept, and the error stays.
func TestStreamStopsAfterError(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"not tls", []byte("GET / HTTP/1.1\r\n"), ErrMalformed},
		{"oversized record", []byte{0x16, 3, 1, 0x4e, 0x20}, ErrTooLarge},
		{"16 MB client hello", asRecord(RecordHandshake, VersionTLS10, []byte{1, 0xff, 0xff, 0xff}), ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s Stream
			s.Write(tt.in)
			if _, err := s.Next(); !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			more := asRecord(RecordHandshake, VersionTLS12, make([]byte, 16<<10))
			for range 64 {
				s.Write(more)
				if _, err := s.Next(); !errors.Is(err, tt.err) {
					t.Fatalf("after more bytes: %v, want %v", err, tt.err)
				}
			}
			if s.Buffered() > len(tt.in) {
				t.Fatalf("Buffered %d after the error", s.Buffered())
			}
		})
	}
}

// maxStreamBuffered bounds what a drained Stream holds: less than one
// record in the Framer, less than one kept message in the Assembler.
const maxStreamBuffered = RecordHeaderLen + MaxRecordLen + HandshakeHeaderLen + DefaultMaxMessage

// FuzzStream checks that the events do not depend on how the stream is cut
// into writes, and that a drained Stream stays within its bounds.
func FuzzStream(f *testing.F) {
	h := recordGoHandshakes(f)
	// TLS 1.2 server, full handshake (tls12 set: Encrypted after CCS).
	f.Add(h.tls12Full.serverBytes(), []byte{1}, true)
	// TLS 1.2 client offering a ticket, then CCS and Finished.
	f.Add(h.tls12Resumed.clientBytes(), []byte{13}, true)
	// TLS 1.3 server accepting a PSK; all encrypted records app data.
	f.Add(h.tls13Resumed.serverBytes(), []byte{255, 7}, false)
	// TLS 1.3 client after HelloRetryRequest: CH, CCS, CH.
	f.Add(h.tls13HRR.clientBytes(), []byte{100}, false)
	// SSLv2-compatible hello then a fatal alert.
	f.Add(append(bytes.Clone(testSSLv2Hello), 0x15, 3, 1, 0, 2, 2, 40), []byte{2}, false)
	// A ClientHello announcing 16 MB, followed by more handshake bytes.
	f.Add(asRecord(RecordHandshake, VersionTLS10, []byte{1, 0xff, 0xff, 0xff, 3, 3, 0, 0}), []byte{3}, false)
	f.Fuzz(func(t *testing.T, data, steps []byte, tls12 bool) {
		want, wantBuf, wantErr := streamEvents([][]byte{data}, tls12)
		got, maxBuf, gotErr := streamEvents(splitAt(data, steps), tls12)
		equalEvents(t, got, want)
		if errKind(gotErr) != errKind(wantErr) {
			t.Fatalf("split input ended with %v, whole with %v", gotErr, wantErr)
		}
		if k := errKind(wantErr); k != "eof" && k != "malformed" && k != "too large" {
			t.Fatalf("Next: %v", wantErr)
		}
		if maxBuf > maxStreamBuffered || wantBuf > len(data) {
			t.Fatalf("Buffered %d fed in pieces, %d fed whole", maxBuf, wantBuf)
		}
	})
}

// BenchmarkStream reads the server side of a full TLS 1.2 handshake, as
// crypto/tls wrote it, and parses the ServerHello and NewSessionTicket.
func BenchmarkStream(b *testing.B) {
	h := recordGoHandshakes(b)
	writes := h.tls12Full.server
	b.ReportAllocs()
	b.SetBytes(int64(len(h.tls12Full.serverBytes())))
	for b.Loop() {
		var s Stream
		for _, w := range writes {
			s.Write(w)
			for {
				e, err := s.Next()
				if err != nil {
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						b.Fatal(err)
					}
					break
				}
				switch {
				case e.Kind == EventChangeCipherSpec:
					s.Encrypted = true
				case e.Kind == EventMessage && e.Msg.Type == TypeServerHello:
					if _, err := ParseServerHello(e.Msg.Body); err != nil {
						b.Fatal(err)
					}
				case e.Kind == EventMessage && e.Msg.Type == TypeNewSessionTicket:
					if _, err := ParseNewSessionTicket(e.Msg.Body); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
}
