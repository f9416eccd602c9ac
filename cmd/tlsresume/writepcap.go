package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsresume/tlsresume/capture"
)

// pcapWriter writes, for -w FILE, the packets the tracker hands to its
// workers (flows.Config.Keep): the handshake packets of every flow whose
// verdict is not known yet and every flow's first packet, in capture
// order. Read again, they give the same conn and session events.
//
// The file is a pcap when the input has one link type, with the input's
// snap length and, when the input has finer than microsecond timestamps,
// nanosecond timestamps. An input that mixes link types (pcapng with
// several interfaces, or -r files of different link types) gives a pcapng
// file with one interface per link type, nanosecond timestamps. Its
// methods run on the front's goroutine (Keep) and, once the tracker is
// closed, on the caller's.
type pcapWriter struct {
	name string
	f    *os.File // nil for stdout
	bw   *bufio.Writer

	pcap  *pcapgo.Writer
	ng    *pcapgo.NgWriter
	ngIDs map[layers.LinkType]int // pcapng interface of each link type
	mixed bool                    // write pcapng
	link  layers.LinkType         // pcap: the link type of the file, once the header is out
	// snaplen is the snap length of the input: the largest of the files'.
	snaplen uint32
	nanos   bool

	written uint64 // bytes written
	packets uint64
	err     error
}

// inputFormat is what -w keeps of the input's file headers.
type inputFormat struct {
	links   []layers.LinkType // distinct supported link types, in order of appearance
	snaplen uint32
	nanos   bool
}

func (f *inputFormat) addLink(lt layers.LinkType) {
	if !capture.SupportedLinkType(lt) {
		return // capture skips those packets: they are never kept
	}
	for _, l := range f.links {
		if l == lt {
			return
		}
	}
	f.links = append(f.links, lt)
}

// sniffPeek is how much of the standard input is peeked at for its header.
const sniffPeek = 1 << 20

// openWrite opens the -w file (or stdout for "-", which needs -o) once the
// input's headers are read. It returns the stdin the capture must read
// from now (some of it was peeked at), and nil without -w.
func openWrite(o *options, stdin io.Reader, stdout io.Writer) (*pcapWriter, io.Reader, error) {
	if o.write == "" {
		return nil, stdin, nil
	}
	if o.write == "-" && (o.output == "" || o.output == "-") {
		return nil, stdin, usagef("give -o FILE for the events, or -w FILE", "-w -: stdout carries the events")
	}
	for _, in := range o.files {
		if in == o.write && in != "-" {
			return nil, stdin, usagef("", "-w %s: it is also an input (-r %s)", o.write, in)
		}
		if in != "-" && o.write != "-" {
			a, err1 := os.Stat(in)
			b, err2 := os.Stat(o.write)
			if err1 == nil && err2 == nil && os.SameFile(a, b) {
				return nil, stdin, usagef("", "-w %s: it is also an input (-r %s)", o.write, in)
			}
		}
	}
	if o.write == o.output || o.write == o.report {
		return nil, stdin, usagef("", "-w %s: it is also the -o or --report file", o.write)
	}
	var in inputFormat
	if o.iface != "" {
		// Live: the link type comes with the first packet; timestamps
		// are the kernel's nanoseconds.
		in.snaplen, in.nanos = uint32(o.snaplen), true
	}
	for _, name := range o.files {
		var r io.Reader
		if name == "-" {
			br := bufio.NewReaderSize(stdin, sniffPeek)
			b, _ := br.Peek(sniffPeek)
			r, stdin = bytes.NewReader(b), br
		} else {
			f, err := os.Open(name)
			if err != nil {
				continue // the capture reports it
			}
			defer f.Close()
			r = f
		}
		sniffHeader(r, &in)
	}
	if in.snaplen == 0 {
		in.snaplen = capture.DefaultSnaplen
	}
	w := &pcapWriter{name: o.write, snaplen: in.snaplen, nanos: in.nanos, mixed: len(in.links) > 1}
	if len(in.links) == 1 {
		w.link = in.links[0]
	}
	out := stdout
	if o.write != "-" {
		f, err := os.Create(o.write)
		if err != nil {
			return nil, stdin, &capture.Error{File: o.write, Err: pathErr(err)}
		}
		w.f, out = f, f
	}
	w.bw = bufio.NewWriterSize(countWriter{out, &w.written}, 256<<10)
	return w, stdin, nil
}

// sniffHeader adds one input's link types, snap length and timestamp
// resolution to in. Whatever it cannot read is left to the capture to
// report.
func sniffHeader(r io.Reader, in *inputFormat) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(2); err == nil && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return
		}
		br = bufio.NewReader(zr)
	}
	b, err := br.Peek(4)
	if err != nil {
		return
	}
	if bytes.Equal(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return
		}
		// The interfaces described before the first packet. One described
		// later with a new link type is refused when its packet is kept.
		ng.ZeroCopyReadPacketData()
		for i := range ng.NInterfaces() {
			intf, err := ng.Interface(i)
			if err != nil {
				continue
			}
			in.addLink(intf.LinkType)
			in.snaplen = max(in.snaplen, intf.SnapLength)
			// Microseconds only when they hold every timestamp exactly:
			// a binary fraction (2^-e s) does not fit in them.
			if r := intf.TimestampResolution; r.Binary() && r.Exponent() > 0 || !r.Binary() && r.Exponent() > 6 {
				in.nanos = true
			}
		}
		return
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return
	}
	in.addLink(pr.LinkType())
	in.snaplen = max(in.snaplen, pr.Snaplen())
	if pr.Resolution().ToDuration() < time.Microsecond {
		in.nanos = true
	}
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n *uint64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += uint64(n)
	return n, err
}

// keepFunc returns the flows.Config.Keep hook, nil without -w.
func (w *pcapWriter) keepFunc() func([]byte, gopacket.CaptureInfo, layers.LinkType) {
	if w == nil {
		return nil
	}
	return w.keep
}

func (w *pcapWriter) keep(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) {
	if w.err != nil {
		return
	}
	if w.err = w.header(lt); w.err != nil {
		return
	}
	ci.InterfaceIndex = 0
	ci.AncillaryData = nil
	if w.ng != nil {
		id, ok := w.ngIDs[lt]
		if !ok {
			if id, w.err = w.ng.AddInterface(w.ngInterface(lt)); w.err != nil {
				return
			}
			w.ngIDs[lt] = id
		}
		ci.InterfaceIndex = id
		w.err = w.ng.WritePacket(ci, data)
	} else {
		if lt != w.link {
			w.err = fmt.Errorf("the input has %s packets after %s ones: a pcap holds one link type (an interface described after the first packet is not seen in advance)", lt, w.link)
			return
		}
		w.err = w.pcap.WritePacket(ci, data)
	}
	w.packets++
}

// header writes the file header before the first packet (of link type
// lt), once.
func (w *pcapWriter) header(lt layers.LinkType) error {
	if w.pcap != nil || w.ng != nil {
		return nil
	}
	if w.mixed {
		ng, err := pcapgo.NewNgWriterInterface(w.bw, w.ngInterface(lt), pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tlsresume -w"}})
		if err != nil {
			return err
		}
		w.ng, w.ngIDs = ng, map[layers.LinkType]int{lt: 0}
		return nil
	}
	if w.link == 0 {
		w.link = lt
	}
	if w.nanos {
		w.pcap = pcapgo.NewWriterNanos(w.bw)
	} else {
		w.pcap = pcapgo.NewWriter(w.bw)
	}
	return w.pcap.WriteFileHeader(w.snaplen, w.link)
}

func (w *pcapWriter) ngInterface(lt layers.LinkType) pcapgo.NgInterface {
	return pcapgo.NgInterface{LinkType: lt, SnapLength: w.snaplen}
}

// close writes what is buffered (and a header, when no packet was kept)
// and closes the file. A failure turns an exit code of 0 into 1.
func (w *pcapWriter) close(code *int, stderr io.Writer) {
	if w == nil {
		return
	}
	if w.err == nil {
		lt := w.link
		if lt == 0 {
			lt = layers.LinkTypeEthernet
		}
		w.err = w.header(lt)
	}
	if w.err == nil && w.ng != nil {
		w.err = w.ng.Flush()
	}
	if err := w.bw.Flush(); w.err == nil {
		w.err = err
	}
	if w.f != nil {
		if err := w.f.Close(); w.err == nil {
			w.err = err
		}
	}
	if w.err != nil {
		fmt.Fprintf(stderr, "tlsresume: -w %s: %v\n", w.name, w.err)
		if *code == exitOK {
			*code = exitFailure
		}
	}
}
