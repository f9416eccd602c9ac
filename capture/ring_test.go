package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// minBufSize is the block size of the test variants whose records cross
// block boundaries ("small"); TestSpanningRecords goes down to one byte.
const minBufSize = 4096

// readFrames reads src to its end like readAll and also returns each
// packet's Frame.
func readFrames(t testing.TB, src Source) ([]want, []uint64, error) {
	t.Helper()
	var got []want
	var frames []uint64
	for {
		p, err := src.Next()
		if err == io.EOF {
			return got, frames, nil
		}
		if err != nil {
			return got, frames, err
		}
		got = append(got, want{data: bytes.Clone(p.Data), ts: p.CI.Timestamp, origLen: p.CI.Length, linkType: p.LinkType})
		frames = append(frames, p.Frame)
	}
}

func TestSpanningRecords(t *testing.T) {
	// Every block size from 1 byte up to past the largest record: each
	// record header and each packet's data starts and ends at every
	// offset in a block, inside one block or across two or more.
	for _, tf := range testFiles(t, 8, 150) {
		t.Run(tf.name, func(t *testing.T) {
			for size := 1; size <= 200; size++ {
				for _, compressed := range []bool{false, true} {
					if compressed && size%7 != 1 {
						continue // the gzip stream is sliced the same way; a few sizes suffice
					}
					b := tf.data
					if compressed {
						b = gz(t, b)
					}
					src, err := openFiles([]string{"-"}, bytes.NewReader(b), size)
					if err != nil {
						t.Fatal(err)
					}
					got, err := readAll(t, src)
					src.Close()
					if err != nil {
						t.Fatalf("block size %d, gzip %v: %v", size, compressed, err)
					}
					comparePackets(t, got, tf.want, len(tf.want))
					if t.Failed() {
						t.Fatalf("block size %d, gzip %v", size, compressed)
					}
				}
			}
		})
	}
}

func TestShortReads(t *testing.T) {
	// A pipe hands out what it has: the blocks are partly filled, some
	// with one byte, and a read may return bytes with the error.
	for _, tf := range testFiles(t, 20, 1600) {
		for _, c := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"one-byte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
			{"data-err", iotest.DataErrReader},
		} {
			t.Run(tf.name+"/"+c.name, func(t *testing.T) {
				src, err := OpenFiles([]string{"-"}, c.r(bytes.NewReader(tf.data)))
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(t, src)
				if err != nil {
					t.Fatal(err)
				}
				comparePackets(t, got, tf.want, len(tf.want))
			})
		}
	}
}

func TestFrameNumbers(t *testing.T) {
	// Frames count every packet record, those on an unsupported interface
	// included, and count on across files. The truth by construction: a
	// record's place among the packet records written, each file's count
	// added. With tshark, its frame.number over the files joined by
	// mergecap -a too.
	dir := t.TempDir()
	tfs := testFiles(t, 12, 300)
	var names []string
	var wantFrames []uint64
	base := uint64(0)
	others := 0
	for i, tf := range tfs {
		b := tf.data
		if i%2 == 1 {
			b = gz(t, b)
		}
		names = append(names, writeFile(t, dir, fmt.Sprintf("%d-%s", i, tf.name), b))
		records := recordsOf(t, tf)
		for j, r := range records {
			if r == delivered {
				wantFrames = append(wantFrames, base+uint64(j)+1)
			}
		}
		base += uint64(len(records))
		for _, r := range records {
			if r == otherFrame {
				others++
			}
		}
	}
	src, err := OpenFiles(names, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, frames, err := readFrames(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(frames) != fmt.Sprint(wantFrames) {
		t.Errorf("frames\n got %v\nwant %v", frames, wantFrames)
	}
	st := src.Stats()
	if last := st.Packets + st.UnsupportedLinkPackets; last != base-uint64(others) {
		t.Errorf("Packets + UnsupportedLinkPackets = %d, want %d packet records", last, base-uint64(others))
	}

	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: frames checked by construction only")
		return
	}
	if _, err := exec.LookPath("mergecap"); err != nil {
		t.Log("mergecap not installed: frames checked by construction only")
		return
	}
	// mergecap -a cannot join these files (it refuses the second section
	// of mixed.pcapng); it concatenates, so tshark's frame numbers of the
	// join are each file's own plus the frames of the files before.
	capLen := map[uint64]int{}
	offset := uint64(0)
	for _, name := range names {
		out, err := exec.Command("tshark", "-n", "-r", name, "-T", "fields", "-e", "frame.number", "-e", "frame.cap_len").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", name, err)
		}
		last := uint64(0)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			n, _ := strconv.ParseUint(f[0], 10, 64)
			l, _ := strconv.Atoi(f[1])
			capLen[offset+n] = l
			last = max(last, n)
		}
		offset += last
	}
	if len(capLen) != int(base) || others == 0 {
		t.Errorf("tshark counts %d frames, the files hold %d records (%d of them not packets)", len(capLen), base, others)
	}
	for i, fr := range frames {
		if l, ok := capLen[fr]; !ok || l != len(got[i].data) {
			t.Errorf("packet %d: Frame %d with %d bytes; tshark's frame %d has %d bytes (found %v)", i, fr, len(got[i].data), fr, l, ok)
		}
	}
}

// What a record of a test file is, for frame numbers.
const (
	delivered  = iota // a packet on a supported interface
	skipped           // a packet on an unsupported interface
	otherFrame        // a block that Wireshark numbers as a frame: a custom block
)

// recordsOf lists the frames of a test file in order, by walking the
// blocks the test helpers wrote: pcap records are all delivered; in the
// pcapng files the unsupported packets are those on interface 2 of the
// first section (see mixedPcapng), and custom blocks (type 0x00000bad,
// draft-ietf-opsawg-pcapng, Section 4.9) are frames.
func recordsOf(t *testing.T, tf testFile) []int {
	t.Helper()
	b := tf.data
	if !bytes.HasPrefix(b, magicPcapng) {
		return make([]int, len(tf.want)) // all delivered
	}
	var out []int
	var order binary.ByteOrder = binary.LittleEndian
	section, packets := 0, 0
	for off := 0; off+12 <= len(b); {
		if binary.LittleEndian.Uint32(b[off:]) == 0x0a0d0d0a {
			section++
			order = binary.LittleEndian
			if binary.BigEndian.Uint32(b[off+8:]) == 0x1a2b3c4d {
				order = binary.BigEndian
			}
		}
		typ, n := order.Uint32(b[off:]), int(order.Uint32(b[off+4:]))
		switch typ {
		case 6:
			packets++
			r := delivered
			if section == 1 && order.Uint32(b[off+8:]) == 2 && tf.skipped > 0 {
				r = skipped
			}
			out = append(out, r)
		case 2, 3:
			packets++
			out = append(out, delivered)
		case 0x00000bad:
			out = append(out, otherFrame)
		}
		off += n
	}
	if packets-len(tf.want) != tf.skipped {
		t.Fatalf("%s: %d packet records, %d packets, %d skipped", tf.name, packets, len(tf.want), tf.skipped)
	}
	return out
}

func TestFilteredFrames(t *testing.T) {
	// A filter drops packets but not their numbers.
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
		port := layers.TCPPort(443)
		if i%3 == 1 {
			port = 80
		}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(40000 + i), DstPort: port, Seq: uint32(i), ACK: true, Window: 512}
		tcp.SetNetworkLayerForChecksum(ip)
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: baseTime.Add(time.Duration(i) * time.Second), CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}
		if err := w.WritePacket(ci, sb.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	all, err := OpenFiles([]string{"-"}, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	every, everyFrames, err := readFrames(t, all)
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenFiles([]string{"-"}, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Filtered(src, "tcp port 443")
	if err != nil {
		t.Fatal(err)
	}
	kept, keptFrames, err := readFrames(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) == 0 || len(kept) == len(every) {
		t.Fatalf("the filter kept %d of %d packets", len(kept), len(every))
	}
	for i, fr := range keptFrames {
		w := every[fr-1]
		if everyFrames[fr-1] != fr || !bytes.Equal(w.data, kept[i].data) || (fr-1)%3 == 1 {
			t.Errorf("kept packet %d has Frame %d, which is another packet", i, fr)
		}
	}
	if st := f.Stats(); st.FilterRejected != uint64(len(every)-len(kept)) || st.Packets != uint64(len(kept)) {
		t.Errorf("Stats() = %+v, want %d rejected, %d packets", st, len(every)-len(kept), len(kept))
	}
}

func TestReaderGoroutines(t *testing.T) {
	// The reader goroutine ends at the end of every input, on every error,
	// and on Close in the middle of a file.
	dir := t.TempDir()
	b, _, l := writePcap(t, genPackets(4, 200, 1500, 0), layers.LinkTypeEthernet, false)
	ng, _, _ := writeNg(t, genPackets(5, 200, 1500, 0))
	good := writeFile(t, dir, "good.pcap", b)
	goodGz := writeFile(t, dir, "good.pcap.gz", gz(t, b))
	goodNg := writeFile(t, dir, "good.pcapng", ng)
	cut := writeFile(t, dir, "cut.pcap", b[:l.ends[100]+7])
	bad := bytes.Clone(b)
	binary.LittleEndian.PutUint32(bad[l.ends[50]+8:], 1<<30)
	malformed := writeFile(t, dir, "bad.pcap", bad)
	corrupt := gz(t, b)
	corrupt[len(corrupt)-6] ^= 0xff
	badCRC := writeFile(t, dir, "crc.gz", corrupt)

	before := runtime.NumGoroutine()
	for _, c := range []struct {
		name  string
		files []string
		stdin []byte
		stop  int // Close after this many packets; 0 reads to the end
	}{
		{"one", []string{good}, nil, 0},
		{"several", []string{good, goodGz, goodNg, good}, nil, 0},
		{"stdin", []string{good, "-"}, gz(t, b), 0},
		{"truncated", []string{cut, good}, nil, 0},
		{"malformed", []string{malformed}, nil, 0},
		{"bad crc", []string{badCRC}, nil, 0},
		{"close early", []string{good, good}, nil, 3},
		{"close early pcapng", []string{goodNg}, nil, 3},
		{"close early stdin", []string{"-"}, b, 3},
		{"close before reading", []string{good, "-"}, b, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := openFiles(c.files, bytes.NewReader(c.stdin), 4096)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; c.stop >= 0 && (c.stop == 0 || n < c.stop); n++ {
				if _, err := src.Next(); err != nil {
					break
				}
			}
			src.Close()
		})
	}
	// The standard input's goroutine is not waited for by Close: give it
	// a moment, as every read here returns at once.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestCloseBlockedPipe(t *testing.T) {
	// A named pipe whose writer sends nothing more: Close returns, and the
	// goroutine blocked reading it ends with it.
	b, _, _ := writePcap(t, genPackets(4, 3, 100, 0), layers.LinkTypeEthernet, false)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	src, err := OpenFiles([]string{"/dev/fd/" + strconv.Itoa(int(r.Fd()))}, nil)
	if err != nil {
		t.Skipf("no /dev/fd: %v", err)
	}
	for range 3 {
		if _, err := src.Next(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		src.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocks on a pipe with nothing to read")
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestReadErrorAfterPackets(t *testing.T) {
	// A read error in the middle: the packets before it, then the error
	// with the count, as before the reader had a goroutine.
	b, ws, l := writePcap(t, genPackets(8, 10, 100, 0), layers.LinkTypeEthernet, false)
	r := io.MultiReader(bytes.NewReader(b[:l.ends[4]]), iotest.ErrReader(errors.New("disk on fire")))
	src, err := openFiles([]string{"-"}, r, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(t, src)
	comparePackets(t, got, ws, 4)
	const want = "capture: stdin: read error after 4 packets: disk on fire"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
