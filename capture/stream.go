package capture

import "io"

// stream is the caller's side of an input's bytes after what the header
// check peeked. Before start, Read reads src on the caller's goroutine (the
// header check of OpenFiles runs so, and needs no goroutine); after, the
// bytes come from the ring's blocks: take walks pcap records in place, Read
// copies out for pcapgo's pcapng reader.
type stream struct {
	src  io.Reader // the front bufio.Reader over the file or its gzip stream
	size int       // of the ring's blocks
	fill bool      // fill each block to the end (gzip)
	ring *ring     // nil until start
	cur  *block    // the block being walked, nil before the first
	off  int       // in cur.buf
	// ended is set once the block with the input's error is received: the
	// reader goroutine has returned, its readers may be looked at.
	ended bool
	// scan, pcapng only, is shown every byte in order, before pcapgo
	// reads it, to find Decryption Secrets Blocks.
	scan *ngScanner
}

// start starts the reader goroutine, once.
func (s *stream) start() {
	if s.ring == nil {
		s.ring = startRing(s.src, s.size, s.fill)
	}
}

// advance gives the current block back to the ring and waits for the
// next. Once the last block, the one with the input's error, is used up it
// returns that error, every time.
func (s *stream) advance() error {
	if s.cur != nil {
		if s.cur.err != nil {
			return s.cur.err
		}
		s.ring.free <- s.cur // never blocks: free holds every block
		s.cur = nil
	}
	b := <-s.ring.full
	s.cur, s.off = b, 0
	if b.err != nil {
		s.ended = true
	}
	if s.scan != nil {
		s.scan.feed(b.buf)
	}
	return nil
}

// take returns the next n bytes: a slice of the current block when it
// holds them all, else a copy into *side (reset, and grown to the largest
// record met; it grows with the bytes that are there, never by n alone).
// When the input ends first, got is how many of the n bytes there were and
// err the input's error (io.EOF at a clean end). The bytes stay valid until
// the next call to take or Read: the block is given back then at the
// earliest.
func (s *stream) take(n int, side *[]byte) (b []byte, got int, err error) {
	if s.cur != nil && len(s.cur.buf)-s.off >= n {
		b = s.cur.buf[s.off : s.off+n : s.off+n]
		s.off += n
		return b, n, nil
	}
	*side = (*side)[:0]
	for {
		if s.cur != nil {
			rest := s.cur.buf[s.off:]
			if need := n - len(*side); len(rest) >= need {
				*side = append(*side, rest[:need]...)
				s.off += need
				return *side, n, nil
			}
			*side = append(*side, rest...)
			s.off = len(s.cur.buf)
		}
		if err := s.advance(); err != nil {
			return nil, len(*side), err
		}
	}
}

// Read is io.Reader over the stream, for pcapgo.
func (s *stream) Read(p []byte) (int, error) {
	if s.ring == nil {
		n, err := s.src.Read(p)
		if s.scan != nil {
			s.scan.feed(p[:n])
		}
		return n, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for s.cur == nil || s.off == len(s.cur.buf) {
		if err := s.advance(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.cur.buf[s.off:])
	s.off += n
	return n, nil
}

// buffered is how many bytes received from the ring are not yet taken.
func (s *stream) buffered() int {
	if s.cur == nil {
		return 0
	}
	return len(s.cur.buf) - s.off
}
