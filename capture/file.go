package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	// frontBufSize is the buffer in front of the file, and in front of
	// its gzip stream, in which the format is sniffed and the header
	// checked; the reads of the ring, larger, go past it.
	frontBufSize = 4096
	// ngBufSize is the buffer pcapgo's pcapng reader reads through.
	ngBufSize = 64 << 10
	// sniffLen is how many bytes are peeked to tell the format, and shown
	// when it is none.
	sniffLen = 8
	// pcapHeaderLen is the length of the pcap file header.
	pcapHeaderLen = 24
	// pcapRecordLen is the length of a pcap record header.
	pcapRecordLen = 16
	// maxPcapCapLen is the largest capture length of a pcap record taken
	// whatever the file's snap length says: libpcap's MAXIMUM_SNAPLEN, as
	// pcapgo takes it.
	maxPcapCapLen = 262144
)

// Where a file was cut, for the ErrTruncated messages.
const (
	inFileHeader  = "unexpected end of file in the file header"
	inPcapRecord  = "unexpected end of file in a packet record"
	inPcapngBlock = "unexpected end of file in a block"
	inGzipStream  = "the gzip stream ends early"
)

// errReader passes reads through and keeps the first error other than
// io.EOF. pcapgo turns some errors into others (a pcapng reader reports a
// failed read at a block boundary as a clean io.EOF), so the error of the
// file itself, and of its gzip stream, is taken from here. Once the ring
// runs, it is written by the reader goroutine: see fileReader.readErrs.
type errReader struct {
	r   io.Reader
	err error
	eof bool          // r returned io.EOF
	n   atomic.Uint64 // bytes read; read by Stats on the caller's goroutine
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n.Add(uint64(n))
	if err == io.EOF {
		e.eof = true
	} else if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// fileReader reads the packets of one input. The readers from file up to
// stream.src are read on the caller's goroutine while the header is
// checked, then by the ring's goroutine once the first packet is asked
// for; everything else is the caller's.
type fileReader struct {
	name     string
	file     *os.File // nil for the standard input, which is not ours to close
	raw      errReader
	gz       *gzip.Reader // nil unless the input is gzip-compressed
	inflated errReader    // reads gz
	stream   stream       // the file's bytes after what the header check peeked
	format   format       // pcap or pcapng, once known
	header   bool         // the file header has been read
	records  uint64       // packet records read, skipped ones included

	// pcap
	bigEndian bool
	nanoScale uint32 // 1000 for microsecond timestamps, 1 for nanoseconds
	snaplen   uint32
	link      layers.LinkType
	hdrSide   []byte // a record header that spans two blocks
	side      []byte // packet data that spans blocks

	// pcapng
	ngbr *bufio.Reader // what ng reads: stream
	ng   *pcapgo.NgReader
	// binExp holds, for each interface of the current pcapng section seen
	// so far, the exponent e of a 2^-e timestamp resolution whose
	// conversion by pcapgo must be corrected, or 0.
	binExp []uint8
}

// openNamed opens a named file and checks its header. size is the read
// buffer size.
func openNamed(name string, size int) (*fileReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &Error{File: name, Err: osErr(err)}
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, &Error{File: name, Err: errors.New("is a directory")}
	}
	fr, err := openReader(name, f, f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	return fr, nil
}

// openReader sniffs the format of r, and reads and checks the file header.
// file, when not nil, is closed by close; on error the caller closes it.
// size is the block size of the ring.
func openReader(name string, r io.Reader, file *os.File, size int) (*fileReader, error) {
	fr := &fileReader{name: name, file: file}
	fr.raw.r = r
	br := bufio.NewReaderSize(&fr.raw, frontBufSize)
	head, err := peek(br, sniffLen)
	if err != nil {
		return nil, fr.fail(err, false, inFileHeader)
	}
	f, partial := sniff(head)
	if partial {
		return nil, &Error{File: name, Err: truncated("", inFileHeader)}
	}
	if f == formatGzip {
		gz, err := gzip.NewReader(br)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &Error{File: name, Err: truncated("", "unexpected end of file in the gzip header")}
			}
			return nil, fr.fail(err, false, inFileHeader)
		}
		fr.gz = gz
		fr.inflated.r = gz
		br = bufio.NewReaderSize(&fr.inflated, frontBufSize)
		if head, err = peek(br, sniffLen); err != nil {
			return nil, fr.fail(err, false, inFileHeader)
		}
		if f, partial = sniff(head); f == formatGzip {
			f = formatUnknown // gzip in gzip: pcapgo would open it, but it is not what we claim to read
		}
		if partial {
			return nil, fr.fail(io.ErrUnexpectedEOF, false, inFileHeader)
		}
	}
	fr.format = f
	// A gzip reader hands out a little at a time: the ring fills each
	// block to the end from it.
	fr.stream = stream{src: br, size: size, fill: fr.gz != nil}
	switch f {
	case formatPcap:
		err = fr.openPcap(br)
	case formatPcapng:
		err = fr.openPcapng()
	default:
		err = notCapture(name, head, fr.gz != nil)
	}
	if err != nil {
		return nil, err
	}
	fr.header = true
	return fr, nil
}

// peek returns the first n bytes of br, or fewer at the end of the input.
func peek(br *bufio.Reader, n int) ([]byte, error) {
	b, err := br.Peek(n)
	if err == io.EOF {
		err = nil
	}
	return b, err
}

func (fr *fileReader) openPcap(br *bufio.Reader) error {
	head, err := peek(br, pcapHeaderLen)
	if err != nil {
		return fr.fail(err, false, inFileHeader)
	}
	if len(head) < pcapHeaderLen {
		return fr.fail(io.ErrUnexpectedEOF, false, inFileHeader)
	}
	h := parsePcapHeader(head)
	// Version 2.4 only, which is what every writer since 1998 writes.
	if h.major != 2 || h.minor != 4 {
		return &Error{File: fr.name, Err: fmt.Errorf("unsupported pcap version %d.%d (want 2.4)", h.major, h.minor)}
	}
	if !SupportedLinkType(layers.LinkType(h.linkType)) {
		return &Error{
			File: fr.name,
			Err:  fmt.Errorf("%w %s", ErrUnsupportedLinkType, linkTypeString(h.linkType)),
			Hint: supportedHint,
		}
	}
	fr.bigEndian, fr.snaplen = h.bigEndian, h.snaplen
	fr.nanoScale = 1000
	if h.nanos {
		fr.nanoScale = 1
	}
	fr.link = layers.LinkType(h.linkType)
	fr.hdrSide = make([]byte, 0, pcapRecordLen)
	br.Discard(pcapHeaderLen) // peeked: cannot fail
	return nil
}

func (fr *fileReader) openPcapng() error {
	fr.stream.scan = &ngScanner{}
	fr.ngbr = bufio.NewReaderSize(&fr.stream, ngBufSize)
	// WantMixedLinkType: every interface's packets, each with its own
	// link type. Unknown block types are skipped by pcapgo in any case.
	opts := pcapgo.NgReaderOptions{
		WantMixedLinkType: true,
		// Interface numbers start again in each section.
		SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { fr.binExp = fr.binExp[:0] },
	}
	r, err := pcapgo.NewNgReader(fr.ngbr, opts)
	if err != nil {
		if errors.Is(err, pcapgo.ErrNgVersionMismatch) {
			return &Error{File: fr.name, Err: errors.New("unsupported pcapng version (want 1.0)")}
		}
		return fr.fail(err, false, inFileHeader)
	}
	fr.ng = r
	return nil
}

// u32 reads a pcap header field in the file's byte order.
func (fr *fileReader) u32(b []byte) uint32 {
	if fr.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next reads the next packet record. The link type is not checked.
func (fr *fileReader) next() (Packet, error) {
	fr.stream.start()
	if fr.format == formatPcap {
		return fr.nextPcap()
	}
	return fr.nextPcapng()
}

// nextPcap walks the next pcap record in place in the ring's blocks
// (draft-ietf-opsawg-pcap, Section 5). The checks and the arithmetic are
// pcapgo's, so that what the package read with it reads the same.
func (fr *fileReader) nextPcap() (Packet, error) {
	s := &fr.stream
	h, got, err := s.take(pcapRecordLen, &fr.hdrSide)
	if err != nil {
		if got > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, fr.fail(err, false, inPcapRecord)
	}
	var ci gopacket.CaptureInfo
	// Seconds, then micro- or nanoseconds; the product is a uint32, as
	// in pcapgo, wrap included.
	ci.Timestamp = time.Unix(int64(fr.u32(h[0:4])), int64(fr.u32(h[4:8])*fr.nanoScale)).UTC()
	ci.CaptureLength = int(fr.u32(h[8:12]))
	ci.Length = int(fr.u32(h[12:16]))
	if ci.CaptureLength > max(int(fr.snaplen), maxPcapCapLen) {
		return Packet{}, fr.fail(fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, fr.snaplen), false, inPcapRecord)
	}
	if ci.CaptureLength > ci.Length {
		return Packet{}, fr.fail(fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length), false, inPcapRecord)
	}
	data, _, err := s.take(ci.CaptureLength, &fr.side)
	if err != nil {
		// A record cut right after its header, or inside its data.
		return Packet{}, fr.fail(err, err == io.EOF, inPcapRecord)
	}
	fr.records++
	return Packet{Data: data, CI: ci, LinkType: fr.link}, nil
}

func (fr *fileReader) nextPcapng() (Packet, error) {
	data, ci, err := fr.ng.ZeroCopyReadPacketData()
	if err != nil {
		return Packet{}, fr.fail(err, false, inPcapngBlock)
	}
	fr.records++
	// With WantMixedLinkType, pcapgo puts the link type of the packet's
	// interface in AncillaryData[0]; that is NgReader.Interface(i).LinkType
	// without copying the interface.
	var lt layers.LinkType
	if len(ci.AncillaryData) > 0 {
		lt, _ = ci.AncillaryData[0].(layers.LinkType)
	} else if intf, err := fr.ng.Interface(ci.InterfaceIndex); err == nil {
		lt = intf.LinkType
	}
	ci.AncillaryData = nil // pcapgo's, reused; the link type is in the Packet
	if e := fr.binaryExponent(ci.InterfaceIndex); e != 0 {
		ci.Timestamp = fixBinary(ci.Timestamp, e)
	}
	return Packet{Data: data, CI: ci, LinkType: lt}, nil
}

// binaryExponent returns the exponent e when pcapng interface i has a
// timestamp resolution of 2^-e seconds that fixBinary corrects, or 0.
func (fr *fileReader) binaryExponent(i int) uint8 {
	for j := len(fr.binExp); j <= i; j++ {
		var e uint8
		// draft-ietf-opsawg-pcapng, Section 4.2, if_tsresol: the high bit
		// says a negative power of two.
		if intf, err := fr.ng.Interface(j); err == nil && intf.TimestampResolution.Binary() {
			if x := intf.TimestampResolution.Exponent(); x > 0 && x < 30 {
				e = x
			}
		}
		fr.binExp = append(fr.binExp, e)
	}
	if i < 0 || i >= len(fr.binExp) {
		return 0
	}
	return fr.binExp[i]
}

// fixBinary corrects a timestamp pcapgo read with a resolution of 2^-e
// seconds, 0 < e < 30. pcapgo multiplies the fraction f (in 2^-e units) by
// the integer 1e9/2^e, which is up to 0.1% short (e = 20: 953 instead of
// 953.67); the nanoseconds are f*1e9/2^e. f is recovered exactly since the
// product is below a second. For e >= 30 pcapgo divides instead and the
// fraction cannot be recovered; such resolutions are not seen in practice.
func fixBinary(t time.Time, e uint8) time.Time {
	scaleUp := uint64(1e9) >> e // = 1e9 / 2^e, as pcapgo computes it
	f := uint64(t.Nanosecond()) / scaleUp
	return time.Unix(t.Unix(), int64(f*1e9>>e)).UTC()
}

// fail turns an error from reading into io.EOF, for a clean end, or into an
// *Error. mid says the reader stopped inside a record; where says what a
// cut there means.
func (fr *fileReader) fail(err error, mid bool, where string) error {
	after := ""
	if fr.header {
		after = " after " + packets(fr.records)
	}
	rawErr, gzErr, eof := fr.readErrs()
	switch {
	case rawErr != nil:
		return &Error{File: fr.name, Err: fmt.Errorf("read error%s: %w", after, osErr(rawErr))}
	case gzErr != nil && errors.Is(gzErr, io.ErrUnexpectedEOF):
		return &Error{File: fr.name, Err: truncated(after, inGzipStream)}
	case gzErr != nil:
		return &Error{File: fr.name, Err: fmt.Errorf("corrupt gzip stream%s: %w", after, gzErr)}
	case fr.stream.scan != nil && fr.stream.scan.bad != "" && (errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF && mid || eof):
		// The scanner reads the block lengths ahead of pcapgo and stops
		// at the first that cannot be right; pcapgo, trusting it, runs
		// off the end of the file there, which is no cut.
		return &Error{File: fr.name, Err: fmt.Errorf("malformed %s%s: %s", fr.kind(), after, fr.stream.scan.bad)}
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF && mid:
		return &Error{File: fr.name, Err: truncated(after, where)}
	case fr.format == formatPcapng && eof && fr.consumed() && strings.HasSuffix(err.Error(), io.ErrUnexpectedEOF.Error()):
		// pcapgo formats the io.ErrUnexpectedEOF of a cut name
		// resolution or decryption secrets block with %v, so it no
		// longer matches; all input consumed says it is the cut.
		return &Error{File: fr.name, Err: truncated(after, where)}
	case err == io.EOF && fr.header:
		return io.EOF
	case err == io.EOF:
		return &Error{File: fr.name, Err: truncated("", inFileHeader)}
	default:
		return &Error{File: fr.name, Err: fmt.Errorf("malformed %s%s: %w", fr.kind(), after, err)}
	}
}

// readErrs returns the errors the file and its gzip stream returned, and
// whether the input ended, as far as the bytes read so far go. Before the
// ring starts they are read on this goroutine; once it runs they are the
// reader goroutine's until it has sent the block with the error, after
// which they are frozen.
func (fr *fileReader) readErrs() (raw, gz error, eof bool) {
	if fr.stream.ring != nil && !fr.stream.ended {
		return nil, nil, false
	}
	eof = fr.raw.eof
	if fr.inflated.r != nil {
		eof = fr.inflated.eof
	}
	return fr.raw.err, fr.inflated.err, eof
}

// consumed reports whether the bytes read so far have all been taken by
// pcapgo.
func (fr *fileReader) consumed() bool {
	if fr.stream.ring == nil {
		if b, ok := fr.stream.src.(*bufio.Reader); ok && b.Buffered() > 0 {
			return false
		}
	}
	return fr.stream.buffered() == 0 && (fr.ngbr == nil || fr.ngbr.Buffered() == 0)
}

// kind names the format for messages.
func (fr *fileReader) kind() string {
	k := "capture file"
	switch fr.format {
	case formatPcap:
		k = "pcap file"
	case formatPcapng:
		k = "pcapng file"
	}
	if fr.inflated.r != nil {
		k = "gzip-compressed " + k
	}
	return k
}

// close stops the reader goroutine and releases the file. The goroutine
// of the standard input is told to stop but not waited for: a read of a
// terminal or pipe that is not ours may block until more comes, after
// which it ends without reading again.
func (fr *fileReader) close() error {
	var err error
	if fr.file != nil {
		err = fr.file.Close() // first: makes a read blocked on a named pipe return
	}
	if fr.stream.ring != nil {
		fr.stream.ring.close(fr.file != nil)
	}
	fr.file = nil
	if err != nil {
		return &Error{File: fr.name, Err: osErr(err)}
	}
	return nil
}

// osErr drops the operation and path from an *fs.PathError: messages name
// the file already.
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
