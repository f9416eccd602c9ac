package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

// TestOutFileReopenAtLineEnds writes lines through outFile in chunks that
// cut lines anywhere (as the output's bufio.Writer does), renaming the file
// and asking for a reopen before every chunk in turn: each line must land
// whole in one file, none lost or repeated, in order.
func TestOutFileReopenAtLineEnds(t *testing.T) {
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf(`{"n":%d,"pad":%q}`+"\n", i, strings.Repeat("x", i*7%53)))
	}
	all := strings.Join(lines, "")
	for _, chunk := range []int{1, 7, 64, 100, len(all)} {
		chunks := (len(all) + chunk - 1) / chunk
		for reopenAt := 0; reopenAt < chunks; reopenAt += max(1, chunks/150) {
			dir := t.TempDir()
			name := filepath.Join(dir, "out")
			var warn bytes.Buffer
			of, err := createOutFile(name, &warn)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i*chunk < len(all); i++ {
				if i == reopenAt {
					if err := os.Rename(name, name+".1"); err != nil {
						t.Fatal(err)
					}
					of.Reopen()
				}
				p := all[i*chunk : min((i+1)*chunk, len(all))]
				if n, err := of.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if err := of.Close(); err != nil {
				t.Fatal(err)
			}
			old, _ := os.ReadFile(name + ".1")
			cur, _ := os.ReadFile(name)
			where := fmt.Sprintf("chunks of %d, reopen before chunk %d", chunk, reopenAt)
			checkSplit(t, where, string(old), string(cur), all, false)
			if of.reopened != 1 || warn.Len() > 0 {
				t.Errorf("%s: %d reopens, warnings %q", where, of.reopened, warn.String())
			}
			// The reopen happens at the first line end at or after the
			// request: the old file holds exactly the lines begun before.
			cut := reopenAt * chunk
			wantOld := cut
			if cut > 0 && all[cut-1] != '\n' {
				wantOld = cut + strings.IndexByte(all[cut:], '\n') + 1
			}
			if len(old) != wantOld {
				t.Errorf("%s: the old file has %d bytes, want %d: the first line end from byte %d", where, len(old), wantOld, cut)
			}
		}
	}
}

// TestOutFileReopenKeepsUnrotatedFile: a SIGHUP with no rotation before it
// appends to the same file, losing nothing.
func TestOutFileReopenKeepsUnrotatedFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out")
	of, err := createOutFile(name, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	of.Write([]byte("a\n"))
	of.Reopen()
	of.Write([]byte("b\n"))
	of.Close()
	if b, _ := os.ReadFile(name); string(b) != "a\nb\n" {
		t.Errorf("file holds %q, want %q", b, "a\nb\n")
	}
}

// TestOutFileReopenFails: when the name cannot be opened again (its
// directory is gone), writing goes on to the old file and a warning says so.
func TestOutFileReopenFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o755)
	name := filepath.Join(dir, "out")
	var warn bytes.Buffer
	of, err := createOutFile(name, &warn)
	if err != nil {
		t.Fatal(err)
	}
	of.Write([]byte("a\n"))
	moved := dir + ".1"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	of.Reopen()
	of.Write([]byte("b\n"))
	of.Close()
	if b, _ := os.ReadFile(filepath.Join(moved, "out")); string(b) != "a\nb\n" {
		t.Errorf("old file holds %q, want %q", b, "a\nb\n")
	}
	if !regexp.MustCompile(`^tlsresume: warning: -o .*/out: cannot reopen \(no such file or directory\): still writing to the old file\n$`).MatchString(warn.String()) {
		t.Errorf("warning %q", warn.String())
	}
}

// checkSplit checks that old and cur, concatenated, are want, and that the
// cut between them is a line boundary with a whole line on each side.
// With both, each file must hold at least one line.
func checkSplit(t *testing.T, where, old, cur, want string, both bool) {
	t.Helper()
	if old+cur != want {
		t.Errorf("%s: the two files together (%d+%d bytes) are not the whole output (%d bytes)", where, len(old), len(cur), len(want))
		return
	}
	if both && (old == "" || cur == "") {
		t.Errorf("%s: %d bytes before the reopen, %d after: want both", where, len(old), len(cur))
		return
	}
	if old != "" && !strings.HasSuffix(old, "\n") {
		t.Errorf("%s: the old file ends inside an event: %q", where, old[max(0, len(old)-40):])
	}
	first, _, _ := strings.Cut(cur, "\n")
	if cur != "" && !json.Valid([]byte(first)) {
		t.Errorf("%s: the new file does not start with an event: %q", where, first[:min(40, len(first))])
	}
}

// benchCapture is a generated capture big enough that its output passes
// the output's 64 KiB buffer more than once.
func benchCapture(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := tlsgen.GenerateBench(&b, 5e6, tlsgen.Options{Seed: 1}, func(tlsgen.Conn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rotation is a tlsresume reading a capture from a pipe into -o FILE.
type rotation struct {
	stdin  io.WriteCloser
	signal func(os.Signal)
	wait   func() (code int, stderr string)
}

// rotate feeds capture to r slowly; once events have reached the -o file
// name, it renames the file as logrotate does, sends SIGHUP and SIGUSR1,
// feeds the rest, and checks that every event is in exactly one of the two
// files, in order (against want, the output of the same capture read in
// one go), the second starting at an event boundary, and the snapshot line.
func rotate(t *testing.T, r rotation, name string, capture, want []byte) {
	t.Helper()
	size := func() int64 {
		fi, err := os.Stat(name)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	const chunk = 32 << 10
	off := 0
	for off < len(capture)*9/10 && size() <= 0 {
		if _, err := r.stdin.Write(capture[off : off+chunk]); err != nil {
			t.Fatal(err)
		}
		off += chunk
	}
	// The pipeline may still hold what it read: wait for the first write.
	for deadline := time.Now().Add(20 * time.Second); size() <= 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing in %s after %d of %d bytes of input", name, off, len(capture))
		}
	}
	if err := os.Rename(name, name+".1"); err != nil {
		t.Fatal(err)
	}
	r.signal(syscall.SIGHUP)
	r.signal(syscall.SIGUSR1)
	for ; off < len(capture); off += chunk {
		if _, err := r.stdin.Write(capture[off:min(off+chunk, len(capture))]); err != nil {
			t.Fatal(err)
		}
	}
	r.stdin.Close()
	code, stderr := r.wait()
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	old, _ := os.ReadFile(name + ".1")
	cur, _ := os.ReadFile(name)
	checkSplit(t, "after SIGHUP", string(old), string(cur), string(want), true)

	m := regexp.MustCompile(`^tlsresume: (\d+) packets, (\d+) bytes, (\d+) TLS connections\n$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr %q: want one snapshot line", stderr)
	}
	var sum struct {
		Packets int64 `json:"packets"`
		TLS     int64 `json:"tls_connections"`
	}
	lines := strings.Split(strings.TrimSpace(string(want)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	pkts, _ := strconv.ParseInt(m[1], 10, 64)
	tls, _ := strconv.ParseInt(m[3], 10, 64)
	if pkts <= 0 || pkts > sum.Packets || tls > sum.TLS {
		t.Errorf("snapshot %q: want 0 < packets <= %d and connections <= %d", strings.TrimSpace(stderr), sum.Packets, sum.TLS)
	}
}

// wantOutput is the output of reading capture from a file in one go.
func wantOutput(t *testing.T, capture []byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.pcap")
	if err := os.WriteFile(path, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-r", path}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	return out.Bytes()
}

// TestRotateOnSIGHUP runs run in this process with its signals coming from
// a channel the test feeds.
func TestRotateOnSIGHUP(t *testing.T) {
	capture := benchCapture(t)
	want := wantOutput(t, capture)
	name := filepath.Join(t.TempDir(), "events.ndjson")

	pr, pw := io.Pipe()
	subscribed := make(chan chan<- os.Signal, 1)
	notify := func(c chan<- os.Signal, sig ...os.Signal) {
		if !slices.Contains(sig, os.Signal(syscall.SIGHUP)) || !slices.Contains(sig, os.Signal(syscall.SIGUSR1)) {
			t.Errorf("subscribed to %v, want SIGHUP and SIGUSR1", sig)
		}
		subscribed <- c
	}
	stderr := &lockedWriter{w: new(bytes.Buffer)}
	done := make(chan int, 1)
	go func() {
		done <- runWith(context.Background(), []string{"-r", "-", "-o", name}, pr, io.Discard, stderr, notify)
	}()
	var sigs chan<- os.Signal
	rotate(t, rotation{
		stdin: pw,
		signal: func(s os.Signal) {
			if sigs == nil {
				sigs = <-subscribed
			}
			sigs <- s
		},
		wait: func() (int, string) {
			code := <-done
			stderr.mu.Lock()
			defer stderr.mu.Unlock()
			return code, stderr.w.(*bytes.Buffer).String()
		},
	}, name, capture, want)
}

// TestRotateOnSIGHUPProcess sends real signals to the test binary run as
// the tlsresume command (as testscript does: by its argv[0]).
func TestRotateOnSIGHUPProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a process")
	}
	capture := benchCapture(t)
	want := wantOutput(t, capture)
	name := filepath.Join(t.TempDir(), "events.ndjson")

	cmd := &exec.Cmd{Path: os.Args[0], Args: []string{"tlsresume", "-r", "-", "-o", name}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	var mu sync.Mutex
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			mu.Lock()
			errb.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	rotate(t, rotation{
		stdin: stdin,
		// The -o file exists only once the signals are subscribed to:
		// rotate sends none before it has seen events in it.
		signal: func(s os.Signal) {
			if err := cmd.Process.Signal(s); err != nil {
				t.Fatal(err)
			}
			// Let each signal be served before the next: two signals
			// of different kinds may be delivered in any order, and
			// SIGUSR1 must find the process alive.
			time.Sleep(50 * time.Millisecond)
		},
		wait: func() (int, string) {
			<-copied
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			return code, errb.String()
		},
	}, name, capture, want)
}
