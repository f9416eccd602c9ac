package keylog

import (
	"fmt"
	"io"
	"os"
)

// Follower reads a key log file that another program is still writing
// (SSLKEYLOGFILE of a browser during a live capture). Each Poll reads what
// was appended since the previous one. A last line without its LF is held
// until its end arrives. When the file shrinks (truncated) or the path
// names another file (rotated: renamed and recreated), the Follower starts
// over from the beginning of the file now at the path; secrets already in
// the Store stay. A file truncated and rewritten past the old size between
// two polls cannot be told from one that grew.
//
// A Follower runs no goroutine and keeps no file open between polls: the
// caller calls Poll periodically (a timer in its own loop) from the
// goroutine that owns the Store.
type Follower struct {
	path     string
	store    *Store
	off      int64
	info     os.FileInfo // the file last read, to notice rotation
	sp       splitter
	buf      []byte
	restarts int64
}

// NewFollower returns a Follower that adds what it reads at path to s.
// Nothing is read until the first Poll.
func NewFollower(path string, s *Store) *Follower {
	return &Follower{path: path, store: s}
}

// Restarts returns how many times the file was found truncated or rotated.
func (f *Follower) Restarts() int64 { return f.restarts }

// Offset returns how many bytes of the current file have been read.
func (f *Follower) Offset() int64 { return f.off }

// Poll reads the bytes appended since the last call and returns how many
// it read. A missing file is an error wrapping fs.ErrNotExist, which a
// caller waiting for the file to appear may ignore.
func (f *Follower) Poll() (int64, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return 0, fmt.Errorf("keylog: follow: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return 0, fmt.Errorf("keylog: follow: %w", err)
	}
	if f.info != nil && (!os.SameFile(f.info, fi) || fi.Size() < f.off) {
		f.off = 0
		f.sp.reset()
		f.restarts++
	}
	f.info = fi
	if fi.Size() == f.off {
		return 0, nil
	}
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		return 0, fmt.Errorf("keylog: follow: %w", err)
	}
	if f.buf == nil {
		f.buf = make([]byte, 32<<10)
	}
	var total int64
	for {
		n, err := file.Read(f.buf)
		total += int64(n)
		f.off += int64(n)
		f.sp.write(f.store, f.buf[:n])
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("keylog: follow: %w", err)
		}
	}
}
