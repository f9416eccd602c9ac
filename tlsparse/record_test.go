package tlsparse

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// readRecords returns every complete record in f (fragments copied) and
// the error that stopped it.
func readRecords(f *Framer) ([]rawRecord, error) {
	var rs []rawRecord
	for {
		r, err := f.Next()
		if err != nil {
			return rs, err
		}
		typ := uint8(r.Type)
		if r.SSLv2 {
			typ = 0x80 // marks an SSLv2 hello in these tests
		}
		rs = append(rs, rawRecord{typ: typ, version: uint16(r.Version), frag: bytes.Clone(r.Fragment)})
	}
}

// feedRecords writes chunks to a new Framer, draining it after each, and
// returns the records and the last error.
func feedRecords(chunks [][]byte) ([]rawRecord, error) {
	var f Framer
	var all []rawRecord
	var err error
	for _, c := range chunks {
		f.Write(c)
		var rs []rawRecord
		rs, err = readRecords(&f)
		all = append(all, rs...)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
	}
	return all, err
}

// bytesOneByOne splits b into one-byte chunks.
func bytesOneByOne(b []byte) [][]byte {
	chunks := make([][]byte, len(b))
	for i := range b {
		chunks[i] = b[i : i+1]
	}
	return chunks
}

func equalRecords(t *testing.T, got, want []rawRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.typ != w.typ || g.version != w.version || !bytes.Equal(g.frag, w.frag) {
			t.Fatalf("record %d: got type %d version %#04x %d bytes, want type %d version %#04x %d bytes",
				i, g.typ, g.version, len(g.frag), w.typ, w.version, len(w.frag))
		}
	}
}

// TestFramerGoHandshakes reads every recorded direction whole, write by
// write as crypto/tls wrote it (several records per write: coalescing),
// and one byte at a time (fragmentation); all give the same records.
func TestFramerGoHandshakes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range h.all() {
		for _, side := range []struct {
			name   string
			writes [][]byte
		}{{"client", c.client}, {"server", c.server}} {
			stream := bytes.Join(side.writes, nil)
			want := splitRecords(t, stream)
			for _, feed := range []struct {
				name   string
				chunks [][]byte
			}{
				{"whole", [][]byte{stream}},
				{"writes", side.writes},
				{"bytes", bytesOneByOne(stream)},
			} {
				t.Run(c.name+"/"+side.name+"/"+feed.name, func(t *testing.T) {
					got, err := feedRecords(feed.chunks)
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("last error %v, want io.ErrUnexpectedEOF", err)
					}
					equalRecords(t, got, want)
				})
			}
		}
	}
}

// TestFramerPrefixes checks that every proper prefix of a recorded
// stream yields the records wholly inside it and then
// io.ErrUnexpectedEOF, never another error.
func TestFramerPrefixes(t *testing.T) {
	h := recordGoHandshakes(t)
	for _, c := range []*goConn{h.tls12Full, h.tls13HRR} {
		stream := c.serverBytes()
		want := splitRecords(t, stream)
		for i := 0; i < len(stream); i++ {
			var f Framer
			f.Write(stream[:i])
			got, err := readRecords(&f)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: prefix of %d bytes: error %v, want io.ErrUnexpectedEOF", c.name, i, err)
			}
			n := 0
			for _, r := range got {
				n += RecordHeaderLen + len(r.frag)
			}
			if n > i || n+RecordHeaderLen+MaxRecordLen < i || len(got) > len(want) {
				t.Fatalf("%s: prefix of %d bytes: %d records covering %d bytes", c.name, i, len(got), n)
			}
			equalRecords(t, got, want[:len(got)])
			if f.Buffered() != i-n {
				t.Fatalf("%s: prefix of %d bytes: Buffered %d, want %d", c.name, i, f.Buffered(), i-n)
			}
		}
	}
}

func TestFramerErrors(t *testing.T) {
	clientHello := asRecord(RecordHandshake, VersionTLS10, withHeader(TypeClientHello, make([]byte, 40)))
	for _, tt := range []struct {
		name    string
		in      []byte
		records int
		err     error
	}{
		{"empty", nil, 0, io.ErrUnexpectedEOF},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0, ErrMalformed},
		{"one byte of http", []byte("G"), 0, ErrMalformed},
		{"ssh banner", []byte("SSH-2.0-OpenSSH_9.6\r\n"), 0, ErrMalformed},
		{"bad type", []byte{0x19, 3, 3, 0, 1, 0}, 0, ErrMalformed},
		{"bad major version", []byte{0x16, 2, 0, 0, 1, 0}, 0, ErrMalformed},
		{"bad major version, short", []byte{0x16, 2}, 0, ErrMalformed},
		{"header only type", []byte{0x16}, 0, io.ErrUnexpectedEOF},
		{"header of four bytes", []byte{0x16, 3, 1, 0}, 0, io.ErrUnexpectedEOF},
		{"20000-byte record", []byte{0x16, 3, 1, 0x4e, 0x20}, 0, ErrTooLarge},
		{"one over the bound", []byte{0x17, 3, 3, byte((MaxRecordLen + 1) >> 8), byte((MaxRecordLen + 1) & 0xff)}, 0, ErrTooLarge},
		{"at the bound", []byte{0x17, 3, 3, byte(MaxRecordLen >> 8), byte(MaxRecordLen & 0xff)}, 0, io.ErrUnexpectedEOF},
		{"empty record", []byte{0x17, 3, 3, 0, 0}, 1, io.ErrUnexpectedEOF},
		{"garbage after a record", append(bytes.Clone(clientHello), "GET /"...), 1, ErrMalformed},
		{"sslv2 header after a record", append(bytes.Clone(clientHello), testSSLv2Hello...), 1, ErrMalformed},
		{"high bit, not sslv2", []byte{0x80, 0x2b, 0x02, 0x03, 0x01}, 0, ErrMalformed},
		{"high bit, short", []byte{0x80, 0x2b, 0x01, 0x03}, 0, io.ErrUnexpectedEOF},
		{"sslv2 too short a length", []byte{0x80, 0x08, 0x01, 0x03, 0x01}, 0, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var f Framer
			f.Write(tt.in)
			got, err := readRecords(&f)
			if len(got) != tt.records || !errors.Is(err, tt.err) {
				t.Fatalf("%d records, error %v; want %d, %v", len(got), err, tt.records, tt.err)
			}
			// An error is not consumed: asking again gives it again.
			if _, err2 := f.Next(); !errors.Is(err2, tt.err) {
				t.Fatalf("second Next: %v, want %v", err2, tt.err)
			}
		})
	}
}

func TestFramerSSLv2(t *testing.T) {
	t.Run("first", func(t *testing.T) {
		var f Framer
		tail := asRecord(RecordAlert, VersionTLS10, []byte{2, 40})
		f.Write(append(bytes.Clone(testSSLv2Hello), tail...))
		got, err := readRecords(&f)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		want := []rawRecord{
			{typ: 0x80, version: uint16(VersionSSL20), frag: testSSLv2Hello[2:]},
			{typ: uint8(RecordAlert), version: uint16(VersionTLS10), frag: []byte{2, 40}},
		}
		equalRecords(t, got, want)
	})
	t.Run("one byte at a time", func(t *testing.T) {
		got, err := feedRecords(bytesOneByOne(testSSLv2Hello))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		equalRecords(t, got, []rawRecord{{typ: 0x80, version: uint16(VersionSSL20), frag: testSSLv2Hello[2:]}})
	})
	t.Run("prefixes", func(t *testing.T) {
		for i := 0; i < len(testSSLv2Hello); i++ {
			var f Framer
			f.Write(testSSLv2Hello[:i])
			if _, err := f.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("prefix of %d bytes: %v", i, err)
			}
		}
	})
	t.Run("second", func(t *testing.T) {
		var f Framer
		f.Write(testSSLv2Hello)
		if _, err := f.Next(); err != nil {
			t.Fatal(err)
		}
		f.Write(testSSLv2Hello)
		if _, err := f.Next(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("second SSLv2 hello: %v, want ErrMalformed", err)
		}
	})
}

func TestFramerReset(t *testing.T) {
	var f Framer
	f.Write([]byte{0x16, 3, 1, 0, 10, 1, 2})
	if _, err := f.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	if f.Buffered() != 7 {
		t.Fatalf("Buffered %d, want 7", f.Buffered())
	}
	f.Reset()
	if f.Buffered() != 0 {
		t.Fatalf("Buffered after Reset %d", f.Buffered())
	}
	f.Write([]byte{0x15, 3, 3, 0, 2, 1, 0})
	r, err := f.Next()
	if err != nil || r.Type != RecordAlert || !bytes.Equal(r.Fragment, []byte{1, 0}) {
		t.Fatalf("after Reset: %+v, %v", r, err)
	}
}

func TestPlausibleRecordHeader(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"client hello", []byte{0x16, 3, 1, 2, 0}, true},
		{"tls 1.3 application data", []byte{0x17, 3, 3, 0x40, 0x11}, true},
		{"change cipher spec", []byte{0x14, 3, 3, 0, 1}, true},
		{"alert", []byte{0x15, 3, 3, 0, 2}, true},
		{"heartbeat", []byte{0x18, 3, 2, 0, 3}, true},
		{"ssl 3.0", []byte{0x16, 3, 0, 0, 50}, true},
		{"max length", []byte{0x17, 3, 3, byte(MaxRecordLen >> 8), byte(MaxRecordLen & 0xff)}, true},
		{"over max length", []byte{0x17, 3, 3, byte((MaxRecordLen + 1) >> 8), byte((MaxRecordLen + 1) & 0xff)}, false},
		{"zero length", []byte{0x16, 3, 1, 0, 0}, false},
		{"short", []byte{0x16, 3, 1, 2}, false},
		{"type 19", []byte{0x13, 3, 1, 0, 5}, false},
		{"type 25", []byte{0x19, 3, 1, 0, 5}, false},
		{"minor 5", []byte{0x16, 3, 5, 0, 5}, false},
		{"major 2", []byte{0x16, 2, 0, 0, 5}, false},
		{"http", []byte("GET / HTTP/1.1"), false},
		{"smtp reply", []byte("220 mail.example.com ESMTP"), false},
		{"sslv2 hello", testSSLv2Hello, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlausibleRecordHeader(tt.in); got != tt.want {
				t.Errorf("PlausibleRecordHeader(% x) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLooksLikeSSLv2Hello(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want bool
	}{
		{"tls 1.0 in sslv2 form", testSSLv2Hello, true},
		{"ssl 2.0", []byte{0x80, 0x2b, 1, 0, 2}, true},
		{"tls 1.3 version", []byte{0x80, 0x2b, 1, 3, 4}, true},
		{"tls 1.4 version", []byte{0x80, 0x2b, 1, 3, 5}, false},
		{"server hello type", []byte{0x80, 0x2b, 4, 3, 1}, false},
		{"no high bit", []byte{0x00, 0x2b, 1, 3, 1}, false},
		{"length 8", []byte{0x80, 0x08, 1, 3, 1}, false},
		{"length 9", []byte{0x80, 0x09, 1, 3, 1}, true},
		{"short", []byte{0x80, 0x2b, 1, 3}, false},
		{"tls record", []byte{0x16, 3, 1, 0, 5}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeSSLv2Hello(tt.in); got != tt.want {
				t.Errorf("LooksLikeSSLv2Hello(% x) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// splitAt cuts b into chunks whose lengths cycle through steps (a zero
// step is taken as one byte). There is always at least one chunk, so that
// an empty input is written once, as it is when fed whole.
func splitAt(b []byte, steps []byte) [][]byte {
	if len(steps) == 0 || len(b) == 0 {
		return [][]byte{b}
	}
	var chunks [][]byte
	for i := 0; len(b) > 0; i++ {
		n := min(max(int(steps[i%len(steps)]), 1), len(b))
		chunks = append(chunks, b[:n])
		b = b[n:]
	}
	return chunks
}

// FuzzFramer checks that the records do not depend on how the stream is
// cut into writes, and that a record never exceeds MaxRecordLen.
func FuzzFramer(f *testing.F) {
	h := recordGoHandshakes(f)
	// A TLS 1.2 server's whole side: coalesced first flight, ticket, CCS,
	// encrypted Finished, application data.
	f.Add(h.tls12Full.serverBytes(), []byte{1})
	// A TLS 1.2 abbreviated handshake, server side, cut every 7 bytes.
	f.Add(h.tls12Resumed.serverBytes(), []byte{7})
	// TLS 1.3 client with PSK: ClientHello, compatibility CCS, app data.
	f.Add(h.tls13Resumed.clientBytes(), []byte{200, 3})
	// HelloRetryRequest server side: HRR, CCS, ServerHello, encrypted.
	f.Add(h.tls13HRR.serverBytes(), []byte{5, 255})
	// An SSLv2-compatible ClientHello followed by a TLS alert.
	f.Add(append(bytes.Clone(testSSLv2Hello), 0x15, 3, 1, 0, 2, 2, 40), []byte{3})
	// Plain HTTP where TLS was expected.
	f.Add([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), []byte{2})
	// A record header announcing 20000 bytes.
	f.Add([]byte{0x16, 3, 1, 0x4e, 0x20, 1, 0, 0, 0}, []byte{1})
	f.Fuzz(func(t *testing.T, data, steps []byte) {
		var whole Framer
		whole.Write(data)
		want, wantErr := readRecords(&whole)
		got, gotErr := feedRecords(splitAt(data, steps))
		if len(got) != len(want) {
			t.Fatalf("split input gave %d records, whole %d", len(got), len(want))
		}
		equalRecords(t, got, want)
		if k := errKind(wantErr); k != "eof" && k != "malformed" && k != "too large" {
			t.Fatalf("Next: %v", wantErr)
		}
		if errKind(gotErr) != errKind(wantErr) {
			t.Fatalf("split input ended with %v, whole with %v", gotErr, wantErr)
		}
		n := 0
		for _, r := range want {
			if len(r.frag) > MaxRecordLen {
				t.Fatalf("record of %d bytes", len(r.frag))
			}
			if r.typ == 0x80 {
				n += 2 + len(r.frag)
			} else {
				n += RecordHeaderLen + len(r.frag)
			}
		}
		if whole.Buffered() != len(data)-n {
			t.Fatalf("Buffered %d, want %d", whole.Buffered(), len(data)-n)
		}
	})
}

// errKind classifies an error for the property checks.
func errKind(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, ErrTooLarge):
		return "too large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other: " + err.Error()
}
