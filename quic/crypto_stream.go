package quic

import "fmt"

// Bounds of a CryptoStream unless set otherwise.
const (
	// DefaultMaxBuffered bounds the bytes a CryptoStream holds: the ones
	// received past a gap and the ones not yet read.
	DefaultMaxBuffered = 64 << 10
	// DefaultMaxOffset bounds the stream offset of CRYPTO data kept. A
	// server's handshake flight with a long certificate chain is tens of
	// kilobytes; nothing of interest lies past it.
	DefaultMaxOffset = 1 << 20
	// DefaultMaxGaps bounds the number of separate pieces held past the
	// contiguous prefix.
	DefaultMaxGaps = 64
)

type span struct{ start, end uint64 } // [start, end) stream offsets

// CryptoStream reassembles the CRYPTO frames of one packet number space
// in one direction (RFC 9000, Section 19.6; RFC 9001, Section 4.1.3):
// frames come in any order, duplicated or overlapping, and Read returns
// the contiguous bytes at the front as they become available. Where
// retransmissions overlap, the first bytes received at an offset are
// kept. The bytes it yields are bare TLS handshake messages, for
// tlsparse.Assembler.
//
// It is bounded: data past MaxOffset, or that would make it hold more
// than MaxBuffered bytes or more than DefaultMaxGaps pieces, is refused
// with an error wrapping ErrCryptoBound and counted in Rejected; nothing
// is ever sized from a number read off the wire. The zero value is ready
// to use. It is not safe for concurrent use.
type CryptoStream struct {
	// MaxBuffered bounds the bytes held; zero means DefaultMaxBuffered.
	MaxBuffered int
	// MaxOffset bounds the end offset of data kept; zero means
	// DefaultMaxOffset.
	MaxOffset uint64

	// Duplicates counts frames whose every byte was already received;
	// Rejected counts frames refused for a bound.
	Duplicates, Rejected int

	base  uint64 // stream offset of buf[head]
	head  int    // bytes at the front of buf already read
	buf   []byte // buf[head:] holds offsets base.. base+len-head
	spans []span // received pieces at or past base, sorted, disjoint, not adjacent
}

// Offset returns the stream offset up to which bytes were read.
func (c *CryptoStream) Offset() uint64 { return c.base }

// Buffered returns the number of bytes held: received but unread.
func (c *CryptoStream) Buffered() int {
	n := 0
	for _, sp := range c.spans {
		n += int(sp.end - sp.start)
	}
	return n
}

// Reset drops every byte and starts again at offset zero; the bounds and
// the buffer's capacity are kept.
func (c *CryptoStream) Reset() {
	c.base, c.head, c.buf, c.spans = 0, 0, c.buf[:0], c.spans[:0]
	c.Duplicates, c.Rejected = 0, 0
}

func (c *CryptoStream) bounds() (int, uint64) {
	mb, mo := c.MaxBuffered, c.MaxOffset
	if mb <= 0 {
		mb = DefaultMaxBuffered
	}
	if mo == 0 {
		mo = DefaultMaxOffset
	}
	return mb, mo
}

// Push adds the data of a CRYPTO frame at a stream offset. data is
// copied where it is kept. It invalidates the slice the last Read
// returned.
func (c *CryptoStream) Push(offset uint64, data []byte) error {
	maxBuf, maxOff := c.bounds()
	// A frame is refused whole, before any of it is kept, when its end
	// is past a bound; an end that overflows is past every bound.
	end := offset + uint64(len(data))
	if end < offset || end > maxOff {
		c.Rejected++
		return fmt.Errorf("quic: crypto stream: data to offset %d past the %d bound: %w", end, maxOff, ErrCryptoBound)
	}
	if len(data) == 0 {
		return nil
	}
	if end <= c.base {
		c.Duplicates++
		return nil
	}
	if offset < c.base {
		data = data[c.base-offset:]
		offset = c.base
	}
	if end-c.base > uint64(maxBuf) {
		c.Rejected++
		return fmt.Errorf("quic: crypto stream: data to offset %d holds over %d bytes past %d: %w", end, maxBuf, c.base, ErrCryptoBound)
	}
	// Where the new piece goes among the spans, and how many it merges.
	i := 0
	for i < len(c.spans) && c.spans[i].end < offset {
		i++
	}
	j := i
	for j < len(c.spans) && c.spans[j].start <= end {
		j++
	}
	if j-i == 1 && c.spans[i].start <= offset && end <= c.spans[i].end {
		c.Duplicates++
		return nil
	}
	if j == i && len(c.spans) >= DefaultMaxGaps {
		c.Rejected++
		return fmt.Errorf("quic: crypto stream: over %d separate pieces: %w", DefaultMaxGaps, ErrCryptoBound)
	}
	c.compact()
	need := int(end - c.base)
	if need > len(c.buf) {
		c.grow(need, maxBuf)
	}
	// Copy only into the gaps between the spans i..j-1: bytes received
	// first are kept.
	at := offset
	for k := i; k < j; k++ {
		if sp := c.spans[k]; sp.start > at {
			copy(c.buf[at-c.base:sp.start-c.base], data[at-offset:])
		}
		at = max(at, c.spans[k].end)
	}
	if at < end {
		copy(c.buf[at-c.base:end-c.base], data[at-offset:])
	}
	merged := span{offset, end}
	if j > i {
		merged.start = min(merged.start, c.spans[i].start)
		merged.end = max(merged.end, c.spans[j-1].end)
	}
	// Replace spans[i:j] by merged, without allocating once capacity is
	// there.
	switch {
	case j == i:
		c.spans = append(c.spans, span{})
		copy(c.spans[i+1:], c.spans[i:])
	case j-i > 1:
		c.spans = append(c.spans[:i+1], c.spans[j:]...)
	}
	c.spans[i] = merged
	return nil
}

// Read returns the contiguous bytes at the front that were not read yet,
// and marks them read; nil when there are none. The slice aliases the
// stream's buffer and is valid until the next Push or Reset.
func (c *CryptoStream) Read() []byte {
	if len(c.spans) == 0 || c.spans[0].start != c.base {
		return nil
	}
	n := int(c.spans[0].end - c.base)
	out := c.buf[c.head : c.head+n]
	c.head += n
	c.base += uint64(n)
	c.spans = append(c.spans[:0], c.spans[1:]...)
	return out
}

// Release lets go of the buffer when nothing is buffered, so that a
// stream between messages holds no memory (a slice Read returned stays
// valid); the next Push allocates one again.
func (c *CryptoStream) Release() {
	if len(c.spans) == 0 {
		c.buf, c.head = nil, 0
	}
}

// compact moves the unread bytes to the front of the buffer.
func (c *CryptoStream) compact() {
	if c.head == 0 {
		return
	}
	n := copy(c.buf, c.buf[c.head:])
	c.buf = c.buf[:n]
	c.head = 0
}

// grow makes buf need bytes long (need <= limit), doubling the capacity.
func (c *CryptoStream) grow(need, limit int) {
	if need <= cap(c.buf) {
		c.buf = c.buf[:need]
		return
	}
	n := max(cap(c.buf), 1024)
	for n < need {
		n *= 2
	}
	nb := make([]byte, need, min(n, limit))
	copy(nb, c.buf)
	c.buf = nb
}
