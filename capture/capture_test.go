package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// testFile is a capture file built by a test and what must be read from it.
type testFile struct {
	name    string
	data    []byte
	want    []want
	layout  layout
	skipped int // packets on unsupported interfaces
}

// testFiles builds one file of every kind the package reads, uncompressed.
func testFiles(t testing.TB, n, maxLen int) []testFile {
	t.Helper()
	var fs []testFile
	for _, c := range []struct {
		name  string
		nanos bool
		swap  bool
		lt    layers.LinkType
	}{
		{"micro-le.pcap", false, false, layers.LinkTypeEthernet},
		{"nano-le.pcap", true, false, layers.LinkTypeLinuxSLL},
		{"micro-be.pcap", false, true, layers.LinkTypeRaw},
		{"nano-be.pcap", true, true, layers.LinkTypeNull},
	} {
		b, ws, l := writePcap(t, genPackets(uint64(len(fs)), n, maxLen, 0), c.lt, c.nanos)
		if c.swap {
			b = swapPcap(t, b)
		}
		fs = append(fs, testFile{name: c.name, data: b, want: ws, layout: l})
	}
	b, ws, l := writeNg(t, genPackets(10, n, maxLen, 0))
	fs = append(fs, testFile{name: "writer.pcapng", data: b, want: ws, layout: l})
	b, ws, l, skipped := mixedPcapng(11, n, maxLen)
	fs = append(fs, testFile{name: "mixed.pcapng", data: b, want: ws, layout: l, skipped: skipped})
	return fs
}

// writeNg writes ws with pcapgo's pcapng writer on two interfaces with
// different link types: even packets on Ethernet, odd ones on raw IP.
func writeNg(t testing.TB, ws []want) ([]byte, []want, layout) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	intf := pcapgo.DefaultNgInterface
	intf.LinkType = layers.LinkTypeRaw
	intf.Name = "raw0"
	if _, err := w.AddInterface(intf); err != nil {
		t.Fatal(err)
	}
	flush := func() {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]want, len(ws))
	for i, p := range ws {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.origLen, InterfaceIndex: i % 2}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
		out[i] = p
		out[i].linkType = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw}[i%2]
	}
	flush()
	// Every block end is a boundary, those inside what NewNgWriter
	// writes too.
	b := buf.Bytes()
	var l layout
	pkts := 0
	for off := 0; off+8 <= len(b); {
		if binary.LittleEndian.Uint32(b[off:]) == 6 {
			pkts++
		}
		off += int(binary.LittleEndian.Uint32(b[off+4:]))
		l.mark(off, pkts)
	}
	return b, out, l
}

// variants are the ways each test file is given to OpenFiles.
var variants = []struct {
	name   string
	gzip   bool
	stdin  bool
	suffix string
	small  bool // small read buffers, so records cross buffer boundaries
}{
	{"file", false, false, "", false},
	{"gzip", true, false, ".gz", false},
	{"stdin", false, true, "", false},
	{"gzip-stdin", true, true, "", false},
	{"file-small", false, false, "", true},
	{"gzip-stdin-small", true, true, "", true},
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, tf := range testFiles(t, 40, 1600) {
		for _, v := range variants {
			t.Run(tf.name+"/"+v.name, func(t *testing.T) {
				b := tf.data
				if v.gzip {
					b = gz(t, b)
				}
				// The name says nothing: the content decides.
				name := "-"
				var stdin io.Reader
				if v.stdin {
					stdin = bytes.NewReader(b)
				} else {
					name = writeFile(t, dir, strings.NewReplacer(".", "_").Replace(tf.name)+"-"+v.name+v.suffix, b)
				}
				var src Source
				var err error
				if v.small {
					src, err = openFiles([]string{name}, stdin, minBufSize)
				} else {
					src, err = OpenFiles([]string{name}, stdin)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(t, src)
				if err != nil {
					t.Fatal(err)
				}
				comparePackets(t, got, tf.want, len(tf.want))
				// io.EOF stays.
				if _, err := src.Next(); err != io.EOF {
					t.Errorf("Next after the end: %v, want io.EOF", err)
				}
				st := src.Stats()
				// Every byte of the input was read, as stored (gzip:
				// compressed).
				if st.InputBytes != uint64(len(b)) {
					t.Errorf("InputBytes %d, the input has %d", st.InputBytes, len(b))
				}
				st.InputBytes = 0
				wantStats := Stats{Files: 1, Packets: uint64(len(tf.want)), UnsupportedLinkPackets: uint64(tf.skipped)}
				for _, w := range tf.want {
					wantStats.Bytes += uint64(len(w.data))
					if len(w.data) < w.origLen {
						wantStats.SnaplenCut++
					}
				}
				if st != wantStats {
					t.Errorf("Stats() = %+v, want %+v", st, wantStats)
				}
				if wantStats.SnaplenCut == 0 {
					t.Error("test files should have snaplen-cut packets")
				}
				if err := src.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}

// TestMixedPcapng checks the hand-built file's expectations themselves, so
// that TestRead compares against something meaningful.
func TestMixedPcapng(t *testing.T) {
	_, ws, _, skipped := mixedPcapng(11, 40, 1600)
	if skipped == 0 {
		t.Error("no packets on the unsupported interface")
	}
	seen := map[layers.LinkType]bool{}
	for _, w := range ws {
		seen[w.linkType] = true
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeNull} {
		if !seen[lt] {
			t.Errorf("no packet with link type %v", lt)
		}
	}
	// The timestamps carry what each resolution can hold, no more.
	for _, c := range []struct {
		resol byte
		want  time.Time
	}{
		{6, time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{3, time.Date(2026, 1, 2, 3, 4, 5, 123000000, time.UTC)},
		{9, baseTime},
		{10, baseTime},
		{0x80 | 10, time.Date(2026, 1, 2, 3, 4, 5, 123046875, time.UTC)}, // 126/1024 s
	} {
		if _, got := units(baseTime, c.resol); !got.Equal(c.want) {
			t.Errorf("units(%#x) = %v, want %v", c.resol, got, c.want)
		}
	}
}

func TestBinaryResolution(t *testing.T) {
	// pcapgo scales 2^-e units by the integer 1e9/2^e, which is off by up
	// to 0.1% for e = 20; the package corrects it.
	for _, e := range []byte{1, 10, 20, 24, 29} {
		var b ngBuilder
		b.section(binary.LittleEndian)
		b.iface(layers.LinkTypeEthernet, 0x80|e, 0)
		ws := genPackets(uint64(e), 20, 10, 0)
		for _, p := range ws {
			b.epb(0, p, true)
		}
		src, err := OpenFiles([]string{"-"}, bytes.NewReader(b.buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, src)
		if err != nil {
			t.Fatal(err)
		}
		comparePackets(t, got, b.want, len(b.want))
	}
}

func TestMultipleFiles(t *testing.T) {
	dir := t.TempDir()
	tfs := testFiles(t, 10, 300)
	var names []string
	var all []want
	var skipped uint64
	var stdin io.Reader
	for i, tf := range tfs {
		b := tf.data
		if i%2 == 1 {
			b = gz(t, b)
		}
		if i == 3 {
			names = append(names, "-")
			stdin = bytes.NewReader(b)
		} else {
			names = append(names, writeFile(t, dir, tf.name, b))
		}
		all = append(all, tf.want...)
		skipped += uint64(tf.skipped)
	}
	src, err := OpenFiles(names, stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	comparePackets(t, got, all, len(all))
	st := src.Stats()
	if st.Files != uint64(len(names)) || st.Packets != uint64(len(all)) || st.UnsupportedLinkPackets != skipped {
		t.Errorf("Stats() = %+v, want %d files, %d packets, %d skipped", st, len(names), len(all), skipped)
	}
}

func TestManyFiles(t *testing.T) {
	// Regular files are closed after the check, so there can be more of
	// them than file descriptors a process usually has.
	dir := t.TempDir()
	b, ws, _ := writePcap(t, genPackets(1, 1, 100, 0), layers.LinkTypeEthernet, true)
	var names []string
	for i := range 300 {
		names = append(names, writeFile(t, dir, fmt.Sprintf("f%04d.pcap", i), b))
	}
	before := openFDs(t)
	src, err := openFiles(names, nil, minBufSize)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if after := openFDs(t); after > before {
		t.Errorf("%d file descriptors open after OpenFiles, %d before", after, before)
	}
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) || !bytes.Equal(got[len(got)-1].data, ws[0].data) {
		t.Errorf("read %d packets, want %d", len(got), len(names))
	}
}

// openFDs counts the open file descriptors of the process.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

func TestPipe(t *testing.T) {
	// A named pipe can be read once only: the check must not consume what
	// the read needs.
	dir := t.TempDir()
	b, ws, _ := writePcap(t, genPackets(3, 30, 1500, 0), layers.LinkTypeEthernet, false)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write(gz(t, b))
		w.Close()
	}()
	other := writeFile(t, dir, "other", b)
	src, err := OpenFiles([]string{other, "/dev/fd/" + strconv.Itoa(int(r.Fd()))}, nil)
	if err != nil {
		t.Skipf("no /dev/fd: %v", err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	comparePackets(t, got, append(append([]want{}, ws...), ws...), 2*len(ws))
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good, _, _ := writePcap(t, genPackets(1, 3, 100, 0), layers.LinkTypeEthernet, false)
	user0, _, _ := writePcap(t, genPackets(1, 3, 100, 0), 147, false)
	radiotap, _, _ := writePcap(t, genPackets(1, 3, 100, 0), layers.LinkTypeIEEE80211Radio, true)
	badVersion := bytes.Clone(good)
	binary.LittleEndian.PutUint16(badVersion[4:], 3)
	ngBadBOM, _, _ := writeNg(t, genPackets(1, 1, 10, 0))
	ngBadBOM = bytes.Clone(ngBadBOM)
	ngBadBOM[8] = 0
	ngVersion, _, _ := writeNg(t, genPackets(1, 1, 10, 0))
	ngVersion = bytes.Clone(ngVersion)
	binary.LittleEndian.PutUint16(ngVersion[12:], 2)
	random := make([]byte, 100)
	for i := range random {
		random[i] = byte(i*131 + 7)
	}
	xz := append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, random...)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	badCRC := gz(t, good)
	badCRC[len(badCRC)-6] ^= 0xff

	for _, c := range []struct {
		name     string
		content  []byte // nil: do not create the file
		want     string // the message, with FILE for the path
		is       error
		wantHint bool
	}{
		{"notes.txt", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), `capture: FILE: not a capture file (starts with "GET / HT")`, ErrNotCapture, false},
		{"short.txt", []byte("hi\n"), `capture: FILE: not a capture file (starts with "hi\n")`, ErrNotCapture, false},
		{"empty.pcap", []byte{}, `capture: FILE: not a capture file (empty file)`, ErrNotCapture, false},
		{"random.pcap", random, `capture: FILE: not a capture file (starts with 07 8a 0d 90 13 96 19 9c)`, ErrNotCapture, false},
		{"x.pcap.xz", xz, `capture: FILE: not a capture file (xz-compressed)`, ErrNotCapture, true},
		{"text.gz", gz(t, []byte("just text, compressed")), `capture: FILE: not a capture file (gzip-compressed, starts with "just tex")`, ErrNotCapture, false},
		{"empty.gz", gz(t, nil), `capture: FILE: not a capture file (gzip-compressed, empty file)`, ErrNotCapture, false},
		{"twice.gz", gz(t, gz(t, good)), `capture: FILE: not a capture file (gzip-compressed, starts with 1f 8b 08 00 00 00 00 00)`, ErrNotCapture, false},
		{"x.pcap", user0, `capture: FILE: unsupported link type 147 (USER0)`, ErrUnsupportedLinkType, true},
		{"wifi.pcap", radiotap, `capture: FILE: unsupported link type 127 (IEEE802_11_RADIOTAP)`, ErrUnsupportedLinkType, true},
		{"v3.pcap", badVersion, `capture: FILE: unsupported pcap version 3.4 (want 2.4)`, nil, false},
		{"bom.pcapng", ngBadBOM, `capture: FILE: malformed pcapng file: Wrong byte order value in Section Header`, nil, false},
		{"v2.pcapng", ngVersion, `capture: FILE: unsupported pcapng version (want 1.0)`, nil, false},
		{"header.pcap", good[:20], `capture: FILE: truncated capture file (unexpected end of file in the file header)`, ErrTruncated, false},
		{"magic.pcap", good[:2], `capture: FILE: truncated capture file (unexpected end of file in the file header)`, ErrTruncated, false},
		{"gzipheader.gz", gz(t, good)[:5], `capture: FILE: truncated capture file (unexpected end of file in the gzip header)`, ErrTruncated, false},
		{"badcrc.gz", badCRC, `capture: FILE: corrupt gzip stream after 3 packets: gzip: invalid checksum`, nil, false},
		{"missing.pcap", nil, `capture: FILE: no such file or directory`, fs.ErrNotExist, false},
		{"adir", nil, `capture: FILE: is a directory`, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if c.content != nil {
				path = writeFile(t, dir, c.name, c.content)
			}
			// The bad file is second: it must fail before the good
			// first one is read.
			first := writeFile(t, dir, "good-"+c.name, good)
			src, err := OpenFiles([]string{first, path}, nil)
			if err == nil && c.name == "badcrc.gz" {
				// A bad checksum shows only at the end of the stream.
				src.Next() // good file
				for err == nil {
					_, err = src.Next()
				}
				src.Close()
			} else if err == nil {
				src.Close()
				t.Fatal("OpenFiles succeeded")
			}
			e := asError(t, err)
			if want := strings.ReplaceAll(c.want, "FILE", path); err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
			if e.File != path {
				t.Errorf("File = %q, want %q", e.File, path)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, c.is)
			}
			if (e.Hint != "") != c.wantHint {
				t.Errorf("Hint = %q", e.Hint)
			}
			if c.name == "x.pcap.xz" {
				if want := "decompress it first: xz -dc " + path + " | tlsresume -r -"; e.Hint != want {
					t.Errorf("Hint = %q, want %q", e.Hint, want)
				}
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(e.Hint, "\n") {
				t.Errorf("more than one line: %q, %q", err, e.Hint)
			}
		})
	}
}

func TestStdinErrors(t *testing.T) {
	good, _, _ := writePcap(t, genPackets(1, 3, 100, 0), layers.LinkTypeEthernet, false)
	for _, c := range []struct {
		name  string
		names []string
		stdin io.Reader
		want  string
	}{
		{"no files", nil, nil, "capture: no input files"},
		{"twice", []string{"-", "-"}, bytes.NewReader(good), "capture: stdin: standard input named more than once"},
		{"nil stdin", []string{"-"}, nil, "capture: stdin: no standard input to read"},
		{"text", []string{"-"}, strings.NewReader("hello, world"), `capture: stdin: not a capture file (starts with "hello, w")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := OpenFiles(c.names, c.stdin)
			if err == nil {
				src.Close()
				t.Fatal("OpenFiles succeeded")
			}
			asError(t, err)
			if err.Error() != c.want {
				t.Errorf("error:\n got %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestCorruptRecord(t *testing.T) {
	// A record longer than pcapgo takes is a malformed file, not a
	// truncated one, and the packets before it are delivered.
	b, ws, l := writePcap(t, genPackets(2, 5, 100, 0), layers.LinkTypeEthernet, false)
	b = bytes.Clone(b)
	rec := l.ends[3]
	binary.LittleEndian.PutUint32(b[rec+8:], 1<<30)
	binary.LittleEndian.PutUint32(b[rec+12:], 1<<30)
	src, err := OpenFiles([]string{"-"}, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, src)
	comparePackets(t, got, ws, 3)
	if err == nil || errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want a malformed file", err)
	}
	asError(t, err)
	const want = "capture: stdin: malformed pcap file after 3 packets: capture length exceeds snap length: 1073741824 > 65536"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	// The error stays, and Close ends it.
	if _, err2 := src.Next(); err2 != err {
		t.Errorf("Next after the error: %v, want %v", err2, err)
	}
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	if _, err := src.Next(); err == nil || err == io.EOF {
		t.Errorf("Next after Close: %v", err)
	}
}

func TestSupportedLinkType(t *testing.T) {
	for _, c := range []struct {
		lt   layers.LinkType
		want bool
	}{
		{0, true}, {1, true}, {12, true}, {14, true}, {101, true}, {108, true},
		{113, true}, {228, true}, {229, true}, {276, true},
		{9, true}, {105, false}, {127, false}, {147, false}, {220, false}, {65535, false},
	} {
		if got := SupportedLinkType(c.lt); got != c.want {
			t.Errorf("SupportedLinkType(%d) = %v, want %v", c.lt, got, c.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nil, "empty file"},
		{[]byte("GET / HTTP/1.1"), `starts with "GET / HT"`},
		{[]byte("a\tb"), `starts with "a\tb"`},
		{[]byte{0x7f, 'E', 'L', 'F'}, "starts with 7f 45 4c 46"},
		{[]byte("caf\xc3\xa9"), "starts with 63 61 66 c3 a9"},
	} {
		if got := describe(c.in); got != c.want {
			t.Errorf("describe(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
