package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// format is what the first bytes of an input say it is.
type format int

const (
	formatUnknown format = iota
	formatPcap
	formatPcapng
	formatGzip
)

// Magic numbers, as the bytes appear at the start of the file.
var (
	// pcap: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html, Section 4.
	magicPcapMicroLE = []byte{0xd4, 0xc3, 0xb2, 0xa1}
	magicPcapMicroBE = []byte{0xa1, 0xb2, 0xc3, 0xd4}
	magicPcapNanoLE  = []byte{0x4d, 0x3c, 0xb2, 0xa1}
	magicPcapNanoBE  = []byte{0xa1, 0xb2, 0x3c, 0x4d}
	// pcapng Section Header Block type: draft-ietf-opsawg-pcapng, Section 4.1.
	magicPcapng = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	// gzip: RFC 1952, Section 2.3.1.
	magicGzip = []byte{0x1f, 0x8b}
)

// known are the magics OpenFiles reads.
var known = []struct {
	magic  []byte
	format format
}{
	{magicPcapMicroLE, formatPcap},
	{magicPcapMicroBE, formatPcap},
	{magicPcapNanoLE, formatPcap},
	{magicPcapNanoBE, formatPcap},
	{magicPcapng, formatPcapng},
	{magicGzip, formatGzip},
}

// sniff says which format head starts with. partial is true when head is
// too short to tell but is the start of a known magic: a file cut very
// early.
func sniff(head []byte) (f format, partial bool) {
	for _, k := range known {
		if bytes.HasPrefix(head, k.magic) {
			return k.format, false
		}
		if len(head) > 0 && len(head) < len(k.magic) && bytes.HasPrefix(k.magic, head) {
			partial = true
		}
	}
	return formatUnknown, partial
}

// pcapHeader is what is read from the 24-byte pcap file header
// (draft-ietf-opsawg-pcap, Section 4).
type pcapHeader struct {
	bigEndian    bool
	nanos        bool // nanosecond timestamps (magic a1b23c4d)
	major, minor uint16
	snaplen      uint32
	linkType     uint32
}

func parsePcapHeader(b []byte) pcapHeader {
	var order binary.ByteOrder = binary.LittleEndian
	if b[0] == 0xa1 {
		order = binary.BigEndian
	}
	// The link type is the low 16 bits; the high bits carry FCS
	// information (draft-ietf-opsawg-pcap, Section 4, LinkType and
	// additional information).
	return pcapHeader{
		bigEndian: b[0] == 0xa1,
		nanos:     bytes.HasPrefix(b, magicPcapNanoLE) || bytes.HasPrefix(b, magicPcapNanoBE),
		major:     order.Uint16(b[4:6]),
		minor:     order.Uint16(b[6:8]),
		snaplen:   order.Uint32(b[16:20]),
		linkType:  order.Uint32(b[20:24]) & 0xffff,
	}
}

// other recognises a few formats that are often mistaken for captures, so the
// message can say what the file is and the hint what to do, for a named file
// (FILE stands for its name) and for the standard input.
var other = []struct {
	magic     []byte
	what      string
	hintFile  string
	hintStdin string
}{
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, "xz-compressed",
		"decompress it first: xz -dc FILE | tlsresume -r -", "decompress it first: ... | xz -dc | tlsresume -r -"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd-compressed",
		"decompress it first: zstd -dc FILE | tlsresume -r -", "decompress it first: ... | zstd -dc | tlsresume -r -"},
	{[]byte("BZh"), "bzip2-compressed",
		"decompress it first: bzip2 -dc FILE | tlsresume -r -", "decompress it first: ... | bzip2 -dc | tlsresume -r -"},
	{[]byte{'P', 'K', 0x03, 0x04}, "a zip archive",
		"extract the capture from the archive first", "extract the capture from the archive first"},
	{[]byte{0x34, 0xcd, 0xb2, 0xa1}, "a modified (Kuznetsov) pcap file",
		"convert it first: editcap -F pcap FILE out.pcap", "convert it first with editcap -F pcap"},
	{[]byte{0xa1, 0xb2, 0xcd, 0x34}, "a modified (Kuznetsov) pcap file",
		"convert it first: editcap -F pcap FILE out.pcap", "convert it first with editcap -F pcap"},
	{[]byte("snoop\x00\x00\x00"), "a snoop capture",
		"convert it first: editcap -F pcap FILE out.pcap", "convert it first with editcap -F pcap"},
}

// notCapture is the error for an input whose first bytes are head (at most
// sniffLen of them); inside is true within a gzip stream.
func notCapture(name string, head []byte, inside bool) *Error {
	var what, hint string
	for _, o := range other {
		if bytes.HasPrefix(head, o.magic) {
			what, hint = o.what, strings.ReplaceAll(o.hintFile, "FILE", name)
			if name == stdinName {
				hint = o.hintStdin
			}
			break
		}
	}
	if what == "" {
		what = describe(head)
	}
	if inside {
		what = "gzip-compressed, " + what
	}
	return &Error{File: name, Err: fmt.Errorf("%w (%s)", ErrNotCapture, what), Hint: hint}
}

// describe shows what a file starts with: the printable prefix quoted, or
// hex bytes, or that it is empty.
func describe(head []byte) string {
	if len(head) == 0 {
		return "empty file"
	}
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	printable := true
	for _, c := range head {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' {
			printable = false
			break
		}
	}
	if printable {
		return "starts with " + strconv.Quote(string(head))
	}
	var b strings.Builder
	b.WriteString("starts with")
	for _, c := range head {
		fmt.Fprintf(&b, " %02x", c)
	}
	return b.String()
}
