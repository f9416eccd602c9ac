package dtls

import "github.com/tlsresume/tlsresume/tlsparse"

// Builders for synthetic DTLS bytes, written from RFC 6347, Sections 4.1
// and 4.2.2, independently of the code under test.

func put24(b []byte, n int) []byte { return append(b, byte(n>>16), byte(n>>8), byte(n)) }

// frag is one handshake fragment: header and data.
func frag(t tlsparse.HandshakeType, length int, seq uint16, off int, data []byte) []byte {
	b := []byte{byte(t)}
	b = put24(b, length)
	b = append(b, byte(seq>>8), byte(seq))
	b = put24(b, off)
	b = put24(b, len(data))
	return append(b, data...)
}

// rec is one DTLSPlaintext record with version 0xfefd.
func rec(t tlsparse.RecordType, epoch uint16, seq uint64, content []byte) []byte {
	b := []byte{byte(t), 0xfe, 0xfd, byte(epoch >> 8), byte(epoch)}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(seq>>(8*i)))
	}
	b = append(b, byte(len(content)>>8), byte(len(content)))
	return append(b, content...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// pattern returns n bytes 0, 1, 2, ... so misplaced bytes show.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}
