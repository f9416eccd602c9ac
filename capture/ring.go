package capture

import (
	"io"
)

// blockSize is the size of the blocks the reader goroutine of an input
// fills with one read() each: large, so that the kernel's copy out of the
// page cache (and, for a gzip stream, the decompression) runs in big
// pieces on the reader goroutine while the packets of the block before are
// analysed on the caller's. openFiles takes it as a parameter; tests make
// it small so that records cross block boundaries.
var blockSize = 1 << 20

// ringBlocks is how many blocks an input reads ahead at most.
const ringBlocks = 4

// block is one read of the input.
type block struct {
	buf []byte // the bytes read
	// err is what the read after buf returned: io.EOF at the end, else
	// the error. Only the last block of an input has one.
	err error
}

// ring is the reader goroutine of one input and the blocks it fills. The
// goroutine takes a block from free, fills it from src and sends it on
// full, until src returns an error or stop is closed; then it closes done.
// The caller's goroutine (the one that calls Next) receives from full and
// gives each block back on free once no packet it delivered points into it
// any more: at the next call to Next. src, and every reader below it (the
// file, the gzip stream, the errReaders), belong to the goroutine from
// startRing until done is closed or the block with an error has been
// received; the caller must not touch them in between.
type ring struct {
	src  io.Reader
	fill bool // read until a block is full (gzip), not once per block
	full chan *block
	free chan *block
	stop chan struct{}
	done chan struct{}
}

// startRing starts the reader goroutine of src with blocks of size bytes.
func startRing(src io.Reader, size int, fill bool) *ring {
	r := &ring{
		src:  src,
		fill: fill,
		full: make(chan *block, ringBlocks),
		free: make(chan *block, ringBlocks),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	size = max(size, 1)
	for range ringBlocks {
		r.free <- &block{buf: make([]byte, 0, size)}
	}
	go r.run()
	return r
}

// run is the reader goroutine.
func (r *ring) run() {
	defer close(r.done)
	for {
		var b *block
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		select { // Close while this goroutine waited for a free block
		case <-r.stop:
			return
		default:
		}
		b.buf, b.err = r.read(b.buf[:cap(b.buf)])
		select {
		case r.full <- b:
		case <-r.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// read fills p: with one read that returns bytes (the pcap or pcapng file
// itself, so that a pipe fed by a live tcpdump is read as soon as it has
// something), or until p is full (a gzip stream, whose reader returns a
// little at a time). The error comes after the bytes.
func (r *ring) read(p []byte) ([]byte, error) {
	n := 0
	for empty := 0; n < len(p); {
		m, err := r.src.Read(p[n:])
		n += m
		if err != nil {
			return p[:n], err
		}
		if m == 0 {
			// io.Reader allows it; give up after as many as bufio does.
			if empty++; empty == 100 {
				return p[:n], io.ErrNoProgress
			}
			continue
		}
		if !r.fill {
			break
		}
	}
	return p[:n], nil
}

// close stops the goroutine. It waits for it to end when wait is set; the
// caller closes the file first, so that a read blocked on a pipe returns.
func (r *ring) close(wait bool) {
	close(r.stop)
	if wait {
		<-r.done
	}
}
