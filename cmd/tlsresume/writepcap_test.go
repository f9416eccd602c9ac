package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/capture"
)

// writeDirs are the capture directories every capture of which -w must
// round-trip.
var writeDirs = []string{"openssl", "openssl-dtls", "nginx", "corpus"}

// writeDiffers lists the captures whose events legitimately change when
// read back from the -w file, with the reason. The test fails when one of
// them no longer differs, so that the list stays true. None does.
var writeDiffers = map[string]string{}

// TestWriteRoundTrip: for every committed capture, the -w file read back
// gives the same conn and session events as the capture itself, the frame
// numbers mapped back to the original's. Their order may differ: a
// session's end, or the unknown verdict of a connection given up as idle,
// is decided at a sweep of the capture clock, and sweeps run at the first
// packet past the interval, so with packets left out a sweep can fall
// between other events. Which packets are left out is not even the same
// from run to run (the front learns that a flow is finished when a worker
// says so, see flows.Config.Keep), so the order is logged, not checked. The mapping is found
// independently of the writer: the written packets must be a subsequence
// of the input's (same bytes, same time), in order.
func TestWriteRoundTrip(t *testing.T) {
	var caps []string
	for _, d := range writeDirs {
		err := filepath.WalkDir(filepath.Join(pcapDir, d), func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(p); ext == ".pcap" || ext == ".pcapng" || ext == ".gz" {
				caps = append(caps, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(caps) < 300 {
		t.Fatalf("found %d captures, want the few hundred committed", len(caps))
	}
	dir := t.TempDir()
	var inBytes, outBytes int64
	var inPackets, outPackets int
	var reordered []string
	for i, p := range caps {
		rel, _ := filepath.Rel(pcapDir, p)
		t.Run(rel, func(t *testing.T) {
			w := filepath.Join(dir, fmt.Sprintf("%d.pcap", i))
			orig, errs, code := runTool(t, "-r", p, "-w", w)
			// A damaged capture (truncated, malformed) exits 1 after the
			// events read before the damage; -w must not fail.
			if code != exitOK && (code != exitFailure || strings.Contains(errs, "-w ")) {
				t.Fatalf("-r %s -w: exit %d: %s", rel, code, errs)
			}
			args := []string{"-r", w}
			if _, err := os.Stat(w + ".keylog"); err == nil {
				// The capture's secrets blocks, written beside.
				args = append(args, "--keylog", w+".keylog")
			}
			again, errs2, code2 := runTool(t, args...)
			if code2 != exitOK {
				t.Fatalf("-r the -w file: exit %d: %s", code2, errs2)
			}
			frames, nin := frameMap(t, p, w)
			st, _ := os.Stat(w)
			si, _ := os.Stat(p)
			inBytes += si.Size()
			outBytes += st.Size()
			inPackets += nin
			outPackets += len(frames)
			kind, diff := compareEvents(orig, again, frames)
			reason, listed := writeDiffers[rel]
			switch {
			case kind == diffEvents && !listed:
				t.Errorf("read back from -w, the events differ: %s", diff)
			case kind != diffEvents && listed:
				t.Errorf("listed in writeDiffers (%s), but the events no longer differ: drop it", reason)
			case kind == diffOrder:
				reordered = append(reordered, rel)
			}
		})
	}
	for rel := range writeDiffers {
		if !slices.Contains(caps, filepath.Join(pcapDir, rel)) {
			t.Errorf("writeDiffers lists %s, which is not a committed capture", rel)
		}
	}
	if len(reordered) > 0 {
		t.Logf("the same events in another order (allowed): %s", strings.Join(reordered, ", "))
	}
	t.Logf("-w over %d captures: %d of %d packets written (%.1f%%), %d of %d bytes (ratio %.3f)",
		len(caps), outPackets, inPackets, 100*float64(outPackets)/float64(max(inPackets, 1)),
		outBytes, inBytes, float64(outBytes)/float64(max(inBytes, 1)))
}

// frameMap reads the original capture and the -w file and returns, for
// each packet of the -w file (frame N at index N-1), the frame number of
// the same packet in the original; and how many packets the original has.
func frameMap(t *testing.T, orig, written string) ([]uint64, int) {
	t.Helper()
	type pkt struct {
		ts   time.Time
		data []byte
	}
	var w []pkt
	src, err := capture.OpenFiles([]string{written}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the -w file: %v", err)
		}
		if p.Frame != uint64(len(w)+1) {
			t.Fatalf("-w file: packet %d has frame %d", len(w)+1, p.Frame)
		}
		w = append(w, pkt{p.CI.Timestamp, bytes.Clone(p.Data)})
	}
	src.Close()
	src, err = capture.OpenFiles([]string{orig}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var frames []uint64
	n := 0
	for {
		p, err := src.Next()
		if err != nil {
			break // io.EOF, or the cut of a truncated capture
		}
		n++
		if len(frames) < len(w) && p.CI.Timestamp.Equal(w[len(frames)].ts) && bytes.Equal(p.Data, w[len(frames)].data) {
			frames = append(frames, p.Frame)
		}
	}
	if len(frames) != len(w) {
		t.Fatalf("-w packet %d (of %d) is not a packet of the input, in order", len(frames)+1, len(w))
	}
	return frames, n
}

// How the events read back from a -w file differ from the capture's.
const (
	diffNone   = ""
	diffOrder  = "the same events in another order"
	diffEvents = "other events"
)

// compareEvents compares the conn and session events of two outputs, the
// second's frame numbers mapped through frames: it returns how they differ
// and the first difference.
func compareEvents(orig, again string, frames []uint64) (kind, diff string) {
	a, b := eventLines(orig, nil), eventLines(again, frames)
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			diff = fmt.Sprintf("extra event %d: %s", i+1, b[i])
		case i >= len(b):
			diff = fmt.Sprintf("missing event %d: %s", i+1, a[i])
		case a[i] != b[i]:
			diff = fmt.Sprintf("event %d:\n  capture: %s\n  -w file: %s", i+1, a[i], b[i])
		}
		if diff != "" {
			break
		}
	}
	if diff == "" {
		return diffNone, ""
	}
	if slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))) {
		return diffOrder, diff
	}
	return diffEvents, diff
}

// eventLines returns the conn and session events, re-encoded, with the
// frame numbers mapped through frames when it is not nil.
func eventLines(out string, frames []uint64) []string {
	var lines []string
	for line := range strings.Lines(out) {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil || ev["type"] == "summary" {
			continue
		}
		if frames != nil {
			for _, k := range []string{"client_hello_frame", "server_hello_frame"} {
				if f, ok := ev[k].(float64); ok {
					if n := int(f); n >= 1 && n <= len(frames) {
						ev[k] = float64(frames[n-1])
					} else {
						ev[k] = fmt.Sprintf("frame %d outside the -w file", n)
					}
				}
			}
		}
		b, _ := json.Marshal(ev)
		lines = append(lines, string(b))
	}
	return lines
}

// TestWriteMixedLinkTypes: two inputs of different link types (Ethernet,
// Linux cooked) give a pcapng file that reads back to the same events.
func TestWriteMixedLinkTypes(t *testing.T) {
	a := filepath.Join(pcapDir, "openssl/tls12-ticket.pcap")                    // Ethernet
	b := filepath.Join(pcapDir, "corpus/mercury/unit_tests/pcaps/sll_tls.pcap") // Linux cooked v1
	w := filepath.Join(t.TempDir(), "mixed")
	orig, errs, code := runTool(t, "-r", a, "-r", b, "-w", w)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("-w of mixed link types starts % x, want a pcapng section header", data[:min(4, len(data))])
	}
	again, errs, code := runTool(t, "-r", w)
	if code != exitOK {
		t.Fatalf("reading the -w file: exit %d: %s", code, errs)
	}
	// Frame numbers continue from one -r file to the next: compared without.
	if kind, diff := compareEvents(stripFrames(orig), stripFrames(again), nil); kind != diffNone {
		t.Errorf("read back: %s: %s", kind, diff)
	}
	conns, _ := parseEvents(t, again)
	if len(conns) < 4 {
		t.Errorf("%d conns read back, want those of both inputs", len(conns))
	}
}

// TestWriteStdout: -w - writes the pcap to stdout when -o takes the
// events, and is a usage error otherwise.
func TestWriteStdout(t *testing.T) {
	in := filepath.Join(pcapDir, "openssl/tls12-ticket.pcap")
	if _, errs, code := runTool(t, "-r", in, "-w", "-"); code != exitUsage || !strings.Contains(errs, "-w -") {
		t.Errorf("-w - without -o: exit %d, %q; want 2 and a message naming -w -", code, errs)
	}
	if _, _, code := runTool(t, "-r", in, "-w", in); code != exitUsage {
		t.Errorf("-w INPUT: exit %d, want 2", code)
	}
	events := filepath.Join(t.TempDir(), "events.ndjson")
	out, errs, code := runTool(t, "-r", in, "-w", "-", "-o", events)
	if code != exitOK {
		t.Fatalf("-w - -o FILE: exit %d: %s", code, errs)
	}
	// A pcap with microsecond timestamps, as the input (pcap magic
	// a1b2c3d4 in little-endian order).
	if !strings.HasPrefix(out, "\xd4\xc3\xb2\xa1") {
		t.Fatalf("stdout starts %q, want a microsecond pcap header", out[:min(4, len(out))])
	}
	p := filepath.Join(t.TempDir(), "w.pcap")
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	again, _, _ := runTool(t, "-r", p)
	ev, _ := os.ReadFile(events)
	if kind, diff := compareEvents(string(ev), again, frameIdentity(again)); kind != diffNone {
		t.Errorf("read back: %s: %s", kind, diff)
	}
}

// frameIdentity maps every frame to itself (a capture whose every packet
// is kept).
func frameIdentity(string) []uint64 {
	f := make([]uint64, 1<<16)
	for i := range f {
		f[i] = uint64(i + 1)
	}
	return f
}

// stripFrames drops the frame numbers from every event of out.
func stripFrames(out string) string {
	var b strings.Builder
	for line := range strings.Lines(out) {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		delete(ev, "client_hello_frame")
		delete(ev, "server_hello_frame")
		j, _ := json.Marshal(ev)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}
