package keylog

import (
	"encoding/hex"
	"io"
	"runtime"
	"testing"
)

// floodReader generates n CLIENT_RANDOM lines, each with a new client
// random, without holding them: a 1 GB key log of connections the capture
// never saw, made on the fly.
type floodReader struct {
	n, i int
	line []byte
	off  int
}

func (r *floodReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if r.off == len(r.line) {
			if r.i == r.n {
				if w == 0 {
					return 0, io.EOF
				}
				return w, nil
			}
			var cr [32]byte
			for k := 0; k < 8; k++ {
				cr[k] = byte(r.i >> (8 * k))
			}
			r.line = append(r.line[:0], "CLIENT_RANDOM "...)
			r.line = hex.AppendEncode(r.line, cr[:])
			r.line = append(r.line, ' ')
			r.line = hex.AppendEncode(r.line, cr[:16])
			r.line = hex.AppendEncode(r.line, cr[:32])
			r.line = append(r.line, '\n')
			r.off = 0
			r.i++
		}
		c := copy(p[w:], r.line[r.off:])
		w += c
		r.off += c
	}
	return w, nil
}

// TestFloodBoundedMemory feeds 5 million lines through ReadFrom into a
// Store bounded to 1<<16 entries and checks the live heap afterwards
// (runtime.ReadMemStats after runtime.GC, HeapAlloc) grew by less than
// MaxEntries*BytesPerEntry. Measured on go1.26 amd64: 18.2 MB for
// 65536 entries, 277 bytes per entry (logged with -v), 880 MB read.
func TestFloodBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("5 million lines")
	}
	const lines = 5_000_000
	const max = 1 << 16
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewStore(Options{MaxEntries: max})
	n, err := s.ReadFrom(&floodReader{n: lines})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	st := s.Stats()
	t.Logf("read %d bytes, %d lines; heap grew %d bytes for %d entries: %d bytes per entry",
		n, st.Lines, grew, s.Len(), grew/int64(s.Len()))
	if st.Added[ClientRandom] != lines || s.Len() != max || st.Evicted != lines-max {
		t.Errorf("added %d, len %d, evicted %d", st.Added[ClientRandom], s.Len(), st.Evicted)
	}
	if bound := int64(max * BytesPerEntry); grew > bound {
		t.Errorf("heap grew %d bytes, over %d", grew, bound)
	}
	// The newest client random is there, the oldest is gone.
	var last, first [32]byte
	for k := 0; k < 8; k++ {
		last[k] = byte(int64(lines-1) >> (8 * k))
	}
	if _, ok := s.Lookup(last); !ok {
		t.Error("newest entry missing")
	}
	if _, ok := s.Lookup(first); ok {
		t.Error("oldest entry kept")
	}
	runtime.KeepAlive(s)
}
