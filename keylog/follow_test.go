package keylog

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFollower(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.log")
	line := func(label string, b byte) string {
		return label + " " + strings.Repeat(string("0123456789abcdef"[b])+"0", 32) + " " + strings.Repeat("5a", 48) + "\n"
	}
	s := NewStore(Options{})
	f := NewFollower(path, s)
	if _, err := f.Poll(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	appendFile := func(text string) {
		t.Helper()
		w, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString(text); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	poll := func(wantLen int, wantAdded int64) {
		t.Helper()
		if _, err := f.Poll(); err != nil {
			t.Fatal(err)
		}
		if s.Len() != wantLen || s.Stats().Added[ClientRandom] != wantAdded {
			t.Fatalf("len %d added %d, want %d %d", s.Len(), s.Stats().Added[ClientRandom], wantLen, wantAdded)
		}
	}
	l1, l2, l3 := line("CLIENT_RANDOM", 1), line("CLIENT_RANDOM", 2), line("CLIENT_RANDOM", 3)
	appendFile(l1 + l2[:40]) // a partial second line
	poll(1, 1)
	poll(1, 1) // nothing new
	appendFile(l2[40 : len(l2)-1])
	poll(1, 1) // still no LF
	appendFile("\n")
	poll(2, 2)
	// Truncation: the file starts over, shorter than what was read.
	if err := os.WriteFile(path, []byte(l3), 0o600); err != nil {
		t.Fatal(err)
	}
	poll(3, 3)
	// Rotation: a new file under the same name, longer than the offset.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(l1 + l2 + l3 + "garbage\n")
	poll(3, 6)
	if f.Restarts() != 2 || s.Stats().Malformed != 1 || s.Stats().FirstMalformedLine != 4 {
		t.Errorf("restarts %d stats %+v", f.Restarts(), s.Stats())
	}
}
