package tlsparse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestErrorTexts checks every error the package returns for a set of bad
// inputs: it wraps the right sentinel and names the package exactly once
// ("tlsparse: client hello: malformed", never "tlsparse: ...: tlsparse:
// malformed").
func TestErrorTexts(t *testing.T) {
	good := buildClientHello(make([]byte, 32), []ext{{ExtServerName, extSNI}})
	fixed := fixedLen(good)
	parse := func(f func([]byte) error, b []byte) func() error { return func() error { return f(b) } }
	ch := func(b []byte) error { _, err := ParseClientHello(b); return err }
	sh := func(b []byte) error { _, err := ParseServerHello(b); return err }
	v2 := func(b []byte) error { _, err := ParseSSLv2Hello(b); return err }
	nst := func(b []byte) error { _, err := ParseNewSessionTicket(b); return err }
	framer := func(b []byte) func() error {
		return func() error {
			var f Framer
			f.Write(b)
			_, err := f.Next()
			return err
		}
	}
	assembler := func(b []byte) func() error {
		return func() error {
			a := Assembler{Max: 16}
			a.Write(b)
			_, err := a.Next()
			return err
		}
	}
	stream := func(b []byte) func() error {
		return func() error {
			var s Stream
			s.Write(b)
			for {
				if _, err := s.Next(); err != nil {
					return err
				}
			}
		}
	}
	for _, tt := range []struct {
		name string
		err  func() error
		want error
	}{
		{"client hello empty", parse(ch, nil), ErrMalformed},
		{"client hello 33-byte session id", parse(ch, buildClientHello(make([]byte, 33), nil)), ErrMalformed},
		{"client hello odd suites", parse(ch, append(bytes.Clone(good[:35]), 0, 3, 0x13, 1, 0x13, 1, 0)), ErrMalformed},
		{"client hello extensions block", parse(ch, append(bytes.Clone(good[:fixed]), 0)), ErrMalformed},
		{"client hello extension header", parse(ch, append(bytes.Clone(good[:fixed]), 0, 3, 0, 0, 0)), ErrMalformed},
		{"server hello empty", parse(sh, nil), ErrMalformed},
		{"server hello 33-byte session id", parse(sh, append(append([]byte{3, 3}, make([]byte, 32)...), 33)), ErrMalformed},
		{"sslv2 hello empty", parse(v2, nil), ErrMalformed},
		{"sslv2 hello lengths", parse(v2, []byte{1, 3, 1, 0, 4, 0, 0, 0, 16}), ErrMalformed},
		{"sslv2 hello challenge", parse(v2, []byte{1, 3, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0x2f, 9}), ErrMalformed},
		{"new session ticket empty", parse(nst, nil), ErrMalformed},
		{"record type", framer([]byte{99, 3, 1, 0, 0}), ErrMalformed},
		{"record prefix", framer([]byte{22, 9}), ErrMalformed},
		{"sslv2 header", framer([]byte{0x80, 1, 9, 9, 9}), ErrMalformed},
		{"record too large", framer([]byte{22, 3, 3, 0xff, 0xff}), ErrTooLarge},
		{"message too large", assembler([]byte{1, 0, 0, 17}), ErrTooLarge},
		{"stream record", stream([]byte{99, 3, 1, 0, 0}), ErrMalformed},
		{"stream message", stream([]byte{22, 3, 3, 0, 4, 1, 2, 0, 0}), ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil || errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.want)
			}
			if n := strings.Count(err.Error(), "tlsparse:"); n != 1 {
				t.Errorf("%q names the package %d times, want once", err, n)
			}
			if !strings.HasSuffix(err.Error(), ": "+tt.want.Error()) {
				t.Errorf("%q does not end in the sentinel's text", err)
			}
		})
	}
}
