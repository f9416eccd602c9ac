package capture

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzOpen reads arbitrary bytes as a capture on stdin. It must not panic,
// must end, and every error must be a one-line *Error.
func FuzzOpen(f *testing.F) {
	// Seeds: each kind of file the tests build, small, plain and
	// compressed, and a cut copy of each.
	for _, tf := range testFiles(f, 4, 80) {
		f.Add(tf.data)
		f.Add(gz(f, tf.data))
		f.Add(tf.data[:len(tf.data)*2/3])
	}
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a}) // pcapng magic only
	f.Add([]byte{0x1f, 0x8b})             // gzip magic only
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1}) // pcap magic only

	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := openFiles([]string{"-"}, bytes.NewReader(data), minBufSize)
		if err != nil {
			checkErr(t, err)
			return
		}
		defer src.Close()
		var n int
		for ; n <= len(data); n++ {
			p, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkErr(t, err)
				break
			}
			if len(p.Data) != p.CI.CaptureLength || !SupportedLinkType(p.LinkType) {
				t.Fatalf("packet %d: %d bytes, CaptureLength %d, link type %d", n, len(p.Data), p.CI.CaptureLength, p.LinkType)
			}
		}
		// A record takes at least one byte of input (a gzip stream
		// expands, but not a thousand times a small input's length).
		if n > len(data)*1100+1 {
			t.Fatalf("%d packets from %d bytes", n, len(data))
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *capture.Error", err, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "capture: stdin: ") || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error message %q", msg)
	}
}
