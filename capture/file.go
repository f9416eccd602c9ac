package capture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	// bufSize is the read buffer of the file being read, and of its
	// decompressed stream when it is gzip-compressed.
	bufSize = 1 << 20
	// checkBufSize is the read buffer for the header check of a regular
	// file in OpenFiles, which is closed again right after.
	checkBufSize = 64 << 10
	// minBufSize is the smallest read buffer: bufio's default size, below
	// which pcapgo would put another buffer in front of ours.
	minBufSize = 4096
	// sniffLen is how many bytes are peeked to tell the format, and shown
	// when it is none.
	sniffLen = 8
	// pcapHeaderLen is the length of the pcap file header.
	pcapHeaderLen = 24
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
// file itself, and of its gzip stream, is taken from here.
type errReader struct {
	r   io.Reader
	err error
	eof bool // r returned io.EOF
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	} else if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// fileReader reads the packets of one input.
type fileReader struct {
	name     string
	file     *os.File // nil for the standard input, which is not ours to close
	raw      errReader
	gz       *gzip.Reader  // nil unless the input is gzip-compressed
	inflated errReader     // reads gz
	br       *bufio.Reader // what pcapgo reads
	src      *errReader    // what br reads: raw, or inflated
	pcap     *pcapgo.Reader
	ng       *pcapgo.NgReader
	format   format          // pcap or pcapng, once known
	link     layers.LinkType // of a pcap file
	header   bool            // the file header has been read
	// binExp holds, for each interface of the current pcapng section seen
	// so far, the exponent e of a 2^-e timestamp resolution whose
	// conversion by pcapgo must be corrected, or 0.
	binExp  []uint8
	records uint64 // packet records read, skipped ones included
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
func openReader(name string, r io.Reader, file *os.File, size int) (*fileReader, error) {
	size = max(size, minBufSize)
	fr := &fileReader{name: name, file: file}
	fr.raw.r = r
	br := bufio.NewReaderSize(&fr.raw, size)
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
		br = bufio.NewReaderSize(&fr.inflated, size)
		if head, err = peek(br, sniffLen); err != nil {
			fr.closeGzip()
			return nil, fr.fail(err, false, inFileHeader)
		}
		if f, partial = sniff(head); f == formatGzip {
			f = formatUnknown // gzip in gzip: pcapgo would open it, but it is not what we claim to read
		}
		if partial {
			fr.closeGzip()
			return nil, fr.fail(io.ErrUnexpectedEOF, false, inFileHeader)
		}
	}
	fr.format = f
	fr.br, fr.src = br, &fr.raw
	if fr.gz != nil {
		fr.src = &fr.inflated
	}
	switch f {
	case formatPcap:
		err = fr.openPcap(br)
	case formatPcapng:
		err = fr.openPcapng(br)
	default:
		err = notCapture(name, head, fr.gz != nil)
	}
	if err != nil {
		fr.closeGzip()
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
	// pcapgo reads version 2.4 only, which is what every writer since
	// 1998 writes.
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
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return fr.fail(err, false, inFileHeader)
	}
	fr.pcap = r
	fr.link = layers.LinkType(h.linkType)
	return nil
}

func (fr *fileReader) openPcapng(br *bufio.Reader) error {
	// WantMixedLinkType: every interface's packets, each with its own
	// link type. Unknown block types are skipped by pcapgo in any case.
	opts := pcapgo.NgReaderOptions{
		WantMixedLinkType: true,
		// Interface numbers start again in each section.
		SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { fr.binExp = fr.binExp[:0] },
	}
	r, err := pcapgo.NewNgReader(br, opts)
	if err != nil {
		if errors.Is(err, pcapgo.ErrNgVersionMismatch) {
			return &Error{File: fr.name, Err: errors.New("unsupported pcapng version (want 1.0)")}
		}
		return fr.fail(err, false, inFileHeader)
	}
	fr.ng = r
	return nil
}

// next reads the next packet record. The link type is not checked.
func (fr *fileReader) next() (Packet, error) {
	if fr.pcap != nil {
		data, ci, err := fr.pcap.ZeroCopyReadPacketData()
		if err != nil {
			// pcapgo returns a bare io.EOF when the file ends right after
			// a record header, as at the end of the file; ci tells them
			// apart, since it is only set once a header has been read.
			return Packet{}, fr.fail(err, !ci.Timestamp.IsZero(), inPcapRecord)
		}
		fr.records++
		return Packet{Data: data, CI: ci, LinkType: fr.link}, nil
	}
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
	switch {
	case fr.raw.err != nil:
		return &Error{File: fr.name, Err: fmt.Errorf("read error%s: %w", after, osErr(fr.raw.err))}
	case fr.inflated.err != nil && errors.Is(fr.inflated.err, io.ErrUnexpectedEOF):
		return &Error{File: fr.name, Err: truncated(after, inGzipStream)}
	case fr.inflated.err != nil:
		return &Error{File: fr.name, Err: fmt.Errorf("corrupt gzip stream%s: %w", after, fr.inflated.err)}
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF && mid:
		return &Error{File: fr.name, Err: truncated(after, where)}
	case fr.format == formatPcapng && fr.atEnd() && strings.HasSuffix(err.Error(), io.ErrUnexpectedEOF.Error()):
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

// atEnd reports whether all the input has been read and consumed.
func (fr *fileReader) atEnd() bool {
	return fr.br != nil && fr.src.eof && fr.br.Buffered() == 0
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

// closeGzip releases the gzip reader.
func (fr *fileReader) closeGzip() {
	if fr.gz != nil {
		fr.gz.Close()
		fr.gz = nil
	}
}

// close releases the file and the gzip reader.
func (fr *fileReader) close() error {
	fr.closeGzip()
	if fr.file == nil {
		return nil
	}
	err := fr.file.Close()
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
