package tlsparse

// window holds the bytes a Framer or Assembler has not consumed yet. The
// caller's slice is borrowed, not copied, while whole records or messages
// are read straight out of it; only a remainder that waits for more bytes
// is copied into the owned buffer, at the latest when Next reports that it
// needs more. So in the common case (a record or message within one
// segment) nothing is copied.
//
// Invariant: when in is not nil, the owned part (buf[off:]) is empty.
type window struct {
	buf []byte // owned
	off int    // consumed part of buf
	in  []byte // borrowed from the last write
}

// write adds p, borrowing it when nothing else is pending.
func (w *window) write(p []byte) {
	if len(p) == 0 {
		return
	}
	if w.in != nil {
		w.own()
	}
	if w.off == len(w.buf) {
		w.buf, w.off = w.buf[:0], 0
		w.in = p
		return
	}
	w.compact()
	w.buf = append(w.buf, p...)
}

// own copies the borrowed bytes into the owned buffer.
func (w *window) own() {
	if w.in == nil {
		return
	}
	w.compact()
	w.buf = append(w.buf, w.in...)
	w.in = nil
}

func (w *window) compact() {
	if w.off > 0 && w.off == len(w.buf) {
		w.buf, w.off = w.buf[:0], 0
	} else if w.off > 0 && w.off >= cap(w.buf)/2 {
		n := copy(w.buf, w.buf[w.off:])
		w.buf, w.off = w.buf[:n], 0
	}
}

// bytes returns the unconsumed bytes.
func (w *window) bytes() []byte {
	if w.in != nil {
		return w.in
	}
	return w.buf[w.off:]
}

// advance consumes n bytes.
func (w *window) advance(n int) {
	if w.in != nil {
		w.in = w.in[n:]
		if len(w.in) == 0 {
			w.in = nil
		}
		return
	}
	w.off += n
}

func (w *window) len() int { return len(w.bytes()) }

func (w *window) reset() { w.buf, w.off, w.in = w.buf[:0], 0, nil }
