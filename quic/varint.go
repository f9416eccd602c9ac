package quic

import "golang.org/x/crypto/cryptobyte"

// maxVarint is the largest value a variable-length integer can carry,
// 2^62-1 (RFC 9000, Section 16).
const maxVarint = 1<<62 - 1

// readVarint reads a variable-length integer (RFC 9000, Section 16): the
// two high bits of the first byte give its length, 1, 2, 4 or 8 bytes.
// Non-minimal encodings are accepted, as a passive reader is lenient.
func readVarint(s *cryptobyte.String, out *uint64) bool {
	if len(*s) == 0 {
		return false
	}
	n := 1 << ((*s)[0] >> 6)
	var b []byte
	if !s.ReadBytes(&b, n) {
		return false
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:] {
		v = v<<8 | uint64(c)
	}
	*out = v
	return true
}

// readVarintBytes reads a varint length and that many bytes.
func readVarintBytes(s *cryptobyte.String, out *[]byte) bool {
	var n uint64
	if !readVarint(s, &n) || n > uint64(len(*s)) {
		return false
	}
	return s.ReadBytes(out, int(n))
}
