package capture

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// readCut opens b as stdin and reads it to the end. The error is the one
// from OpenFiles or from Next, nil at a clean end.
func readCut(t *testing.T, b []byte) ([]want, error) {
	t.Helper()
	src, err := openFiles([]string{"-"}, bytes.NewReader(b), minBufSize)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	got, err := readAll(t, src)
	if err != nil {
		if _, again := src.Next(); again != err {
			t.Errorf("Next after %v returned %v", err, again)
		}
	}
	return got, err
}

func TestTruncated(t *testing.T) {
	// Every prefix of every file: a cut at a record boundary is a shorter
	// well-formed file; anywhere else every complete packet comes out,
	// then an error wrapping ErrTruncated, never a clean end.
	for _, tf := range testFiles(t, 6, 120) {
		t.Run(tf.name, func(t *testing.T) {
			for cut := 0; cut < len(tf.data); cut++ {
				got, err := readCut(t, tf.data[:cut])
				n, boundary := tf.layout.complete(cut)
				switch {
				case cut == 0:
					if !errors.Is(err, ErrNotCapture) {
						t.Errorf("cut at 0: error %v, want ErrNotCapture", err)
					}
					continue
				case boundary && err != nil:
					t.Errorf("cut at %d, a record boundary: %v", cut, err)
				case !boundary && !errors.Is(err, ErrTruncated):
					t.Errorf("cut at %d: error %v, want ErrTruncated", cut, err)
				}
				if err != nil {
					asError(t, err)
				}
				if len(got) != n {
					t.Errorf("cut at %d: %d packets, want %d", cut, len(got), n)
				}
				comparePackets(t, got, tf.want, n)
				if t.Failed() {
					t.Fatalf("cut at %d of %d", cut, len(tf.data))
				}
			}
		})
	}
}

func TestTruncatedGzip(t *testing.T) {
	// A gzip stream cut anywhere is truncated, even where the data inside
	// happens to end at a record boundary: the trailer is missing.
	for _, tf := range testFiles(t, 6, 120) {
		t.Run(tf.name, func(t *testing.T) {
			g := gz(t, tf.data)
			for cut := 1; cut < len(g); cut++ {
				got, err := readCut(t, g[:cut])
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("cut at %d of %d: error %v, want ErrTruncated", cut, len(g), err)
				}
				asError(t, err)
				comparePackets(t, got, tf.want, len(got))
				if len(got) > len(tf.want) {
					t.Fatalf("cut at %d: %d packets", cut, len(got))
				}
			}
			// The whole stream cut right after its last packet record,
			// before the trailer: every packet, then the error.
			got, err := readCut(t, g[:len(g)-8])
			if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "(the gzip stream ends early)") {
				t.Errorf("without the trailer: error %v", err)
			}
			comparePackets(t, got, tf.want, len(tf.want))
		})
	}
}

func TestTruncatedMessage(t *testing.T) {
	dir := t.TempDir()
	pcap, _, pl := writePcap(t, genPackets(5, 5, 100, 0), layers.LinkTypeEthernet, false)
	ng, _, nl := writeNg(t, genPackets(5, 5, 100, 0))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"body.pcap", pcap[:pl.ends[4]-1], "capture: FILE: truncated capture file after 3 packets (unexpected end of file in a packet record)"},
		{"header.pcap", pcap[:pl.ends[3]+15], "capture: FILE: truncated capture file after 3 packets (unexpected end of file in a packet record)"},
		{"bare.pcap", pcap[:pl.ends[3]+16], "capture: FILE: truncated capture file after 3 packets (unexpected end of file in a packet record)"},
		{"block.pcapng", ng[:nl.ends[4]+7], "capture: FILE: truncated capture file after 2 packets (unexpected end of file in a block)"},
		{"trailer.pcapng", ng[:nl.ends[4]-1], "capture: FILE: truncated capture file after 1 packet (unexpected end of file in a block)"},
		{"ng.gz", gz(t, ng)[:100], "capture: FILE: truncated capture file after 0 packets (the gzip stream ends early)"},
		{"file-header.pcapng", ng[:20], "capture: FILE: truncated capture file (unexpected end of file in the file header)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, c.name, c.data)
			src, err := OpenFiles([]string{path}, nil)
			if err == nil {
				_, err = readAll(t, src)
				src.Close()
			}
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v, want ErrTruncated", err)
			}
			if e := asError(t, err); e.File != path {
				t.Errorf("File = %q, want %q", e.File, path)
			}
			if want := strings.ReplaceAll(c.want, "FILE", path); err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestTruncatedFirstOfTwo(t *testing.T) {
	// A truncated file ends the capture: the next file is not read.
	dir := t.TempDir()
	b, ws, l := writePcap(t, genPackets(6, 4, 100, 0), layers.LinkTypeEthernet, true)
	first := writeFile(t, dir, "cut.pcap", b[:l.ends[2]+3])
	second := writeFile(t, dir, "whole.pcap", b)
	src, err := OpenFiles([]string{first, second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	if !errors.Is(err, ErrTruncated) || asError(t, err).File != first {
		t.Errorf("error %v, want ErrTruncated in %s", err, first)
	}
	comparePackets(t, got, ws, 2)
	if st := src.Stats(); st.Files != 1 || st.Packets != 2 {
		t.Errorf("Stats() = %+v", st)
	}
}
