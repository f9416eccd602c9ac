package capture

import (
	"errors"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// stdinName is the file name that stands for the standard input.
const stdinName = "-"

// Packet is one captured packet.
type Packet struct {
	// Data is the captured bytes, starting at the link-layer header. It is
	// owned by the Source and valid until the next call to Next.
	Data []byte
	// CI is the capture time (UTC) and lengths. CaptureLength < Length
	// for a packet cut by the snap length. InterfaceIndex is the pcapng
	// interface within its section, 0 for pcap, the system's interface
	// index for a live capture. AncillaryData is nil.
	CI gopacket.CaptureInfo
	// LinkType is the link type of the interface the packet was captured
	// on; SupportedLinkType(LinkType) is always true.
	LinkType layers.LinkType
	// Frame is the number of the packet in its input as Wireshark counts
	// it (frame.number): 1 for the first packet record, counting every
	// packet record read, those skipped for their link type included and
	// those a Filtered source rejects included, and the pcapng blocks
	// Wireshark shows as frames of their own (custom blocks, systemd
	// journal entries); counting on from one file to the next as
	// Wireshark does for the files joined by mergecap -a. Live captures
	// count the packets delivered.
	Frame uint64
}

// Source delivers packets in capture-file order.
type Source interface {
	// Next returns the next packet. It returns io.EOF at the clean end of
	// all input and an *Error for anything else; after an error the
	// Source returns the same error again.
	Next() (Packet, error)
	// Stats returns the counters so far.
	Stats() Stats
	// Close releases the files. The standard input is not closed.
	Close() error
}

// Stats counts what a Source read, for the summary.
type Stats struct {
	Files   uint64 // inputs started, the standard input included
	Packets uint64 // packets delivered by Next
	Bytes   uint64 // captured bytes of the packets delivered
	// SnaplenCut counts delivered packets shorter than on the wire.
	SnaplenCut uint64
	// UnsupportedLinkPackets counts pcapng packet records skipped because
	// their interface's link type is not supported (pcap files of such a
	// link type are refused when opened). They are not in Packets, Bytes
	// or SnaplenCut, but they have a Frame number: the next packet's
	// Frame counts them.
	UnsupportedLinkPackets uint64
	// FilterRejected counts packets read but not delivered because the
	// filter of a Filtered source rejected them; they are not in Packets,
	// Bytes or SnaplenCut. Packets + UnsupportedLinkPackets +
	// FilterRejected is the number of packet records read.
	FilterRejected uint64
	// InputBytes counts the bytes read from the input files so far, as
	// they are on disk (compressed, for gzip), read-ahead included: with
	// the files' sizes, how far the reading has got.
	InputBytes uint64
	// Live capture only, zero for files: the kernel's counters since the
	// capture started. KernelPackets are the packets that passed the
	// kernel filter, KernelDrops those of them dropped because the buffer
	// was full (included in KernelPackets), KernelFreezes how often the
	// ring was full (AF_PACKET only).
	KernelPackets uint64
	KernelDrops   uint64
	KernelFreezes uint64
}

// errClosed is returned by Next after Close.
var errClosed = &Error{Err: errors.New("source is closed")}

// input is one name given to OpenFiles.
type input struct {
	name string
	// open is the reader kept open since OpenFiles checked it: the
	// standard input, pipes and devices, which cannot be opened again.
	// Regular files are nil here and reopened when their turn comes.
	open *fileReader
}

// files reads inputs one after the other.
type files struct {
	inputs    []input
	next      int         // index in inputs of the next input to start
	cur       *fileReader // nil between inputs
	err       error       // sticky: the error Next returned, io.EOF at the end
	stats     Stats
	size      int    // of the ring's blocks
	frames    uint64 // packet records read in all inputs so far
	inputDone uint64 // bytes read from the inputs already finished
	opts      Options
}

// OpenFiles opens the named capture files, to be read in order as one
// capture. "-" stands for stdin, at most once. Every input is opened and its
// header checked before OpenFiles returns, so that a bad file is reported
// before any packet is read. Errors are *Error.
func OpenFiles(names []string, stdin io.Reader) (Source, error) {
	return openFiles(names, stdin, blockSize, Options{})
}

// OpenFilesWith is OpenFiles with options.
func OpenFilesWith(names []string, stdin io.Reader, opts Options) (Source, error) {
	return openFiles(names, stdin, blockSize, opts)
}

// openFiles is OpenFilesWith with the size of the ring's blocks, which
// tests make small so that records cross block boundaries.
func openFiles(names []string, stdin io.Reader, size int, opts ...Options) (*files, error) {
	if len(names) == 0 {
		return nil, &Error{Err: errors.New("no input files")}
	}
	s := &files{inputs: make([]input, 0, len(names)), size: size}
	if len(opts) > 0 {
		s.opts = opts[0]
	}
	seenStdin := false
	for _, name := range names {
		in, err := s.check(name, stdin, &seenStdin)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.inputs = append(s.inputs, in)
	}
	return s, nil
}

// check opens one input and checks its header.
func (s *files) check(name string, stdin io.Reader, seenStdin *bool) (input, error) {
	if name == stdinName {
		if *seenStdin {
			return input{}, &Error{File: name, Err: errors.New("standard input named more than once")}
		}
		*seenStdin = true
		if stdin == nil {
			return input{}, &Error{File: name, Err: errors.New("no standard input to read")}
		}
		fr, err := openReader(name, stdin, nil, s.size)
		if err != nil {
			return input{}, err
		}
		return input{name: name, open: fr}, nil
	}
	fi, err := os.Stat(name)
	if err != nil {
		return input{}, &Error{File: name, Err: osErr(err)}
	}
	if !fi.Mode().IsRegular() {
		// A pipe or device can be read once only: keep it open.
		fr, err := openNamed(name, s.size)
		if err != nil {
			return input{}, err
		}
		return input{name: name, open: fr}, nil
	}
	fr, err := openNamed(name, s.size)
	if err != nil {
		return input{}, err
	}
	if err := fr.close(); err != nil {
		return input{}, err
	}
	return input{name: name}, nil
}

func (s *files) Next() (Packet, error) {
	for {
		if s.cur == nil {
			if s.err != nil {
				return Packet{}, s.err
			}
			if s.next == len(s.inputs) {
				s.err = io.EOF
				return Packet{}, io.EOF
			}
			in := &s.inputs[s.next]
			s.next++
			fr := in.open
			in.open = nil
			if fr == nil {
				var err error
				if fr, err = openNamed(in.name, s.size); err != nil {
					s.err = err
					return Packet{}, err
				}
			}
			s.cur = fr
			s.stats.Files++
		}
		p, err := s.cur.next()
		s.passSecrets()
		if err != nil {
			if err == io.EOF {
				s.otherFrames(^uint64(0)) // those after the last packet
			}
			s.inputDone += s.cur.raw.n.Load()
			s.cur.close()
			s.cur = nil
			if err == io.EOF {
				continue
			}
			s.err = err
			return Packet{}, err
		}
		s.otherFrames(s.cur.records - 1)
		s.frames++
		p.Frame = s.frames
		if !SupportedLinkType(p.LinkType) {
			s.stats.UnsupportedLinkPackets++
			continue
		}
		s.stats.Packets++
		s.stats.Bytes += uint64(len(p.Data))
		if p.CI.CaptureLength < p.CI.Length {
			s.stats.SnaplenCut++
		}
		return p, nil
	}
}

// otherFrames counts the frames of the blocks before packet record k
// (0-based) of the current input that Wireshark numbers but that are no
// packets.
func (s *files) otherFrames(k uint64) {
	sc := s.cur.stream.scan
	if sc == nil {
		return
	}
	n := 0
	for n < len(sc.frames) && sc.frames[n] <= k {
		n++
	}
	if n > 0 {
		s.frames += uint64(n)
		sc.frames = sc.frames[:copy(sc.frames, sc.frames[n:])]
	}
}

// passSecrets hands the Decryption Secrets Blocks the current input's
// scanner has found to the callback, if there is one, and forgets them.
func (s *files) passSecrets() {
	sc := s.cur.stream.scan
	if sc == nil || len(sc.found) == 0 {
		return
	}
	for i, sec := range sc.found {
		if s.opts.Secrets != nil {
			sec.File = s.cur.name
			s.opts.Secrets(sec)
		}
		sc.found[i] = Secrets{}
	}
	sc.found = sc.found[:0]
}

func (s *files) Stats() Stats {
	st := s.stats
	st.InputBytes = s.inputDone
	if s.cur != nil {
		st.InputBytes += s.cur.raw.n.Load()
	}
	return st
}

// InputSize returns the total size of the named files, and false when one
// of them is not a regular file (the standard input, a pipe), whose size
// is not known in advance.
func InputSize(names []string) (int64, bool) {
	var total int64
	for _, name := range names {
		if name == stdinName {
			return 0, false
		}
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		total += fi.Size()
	}
	return total, true
}

func (s *files) Close() error {
	var first error
	if s.cur != nil {
		first = s.cur.close()
		s.cur = nil
	}
	for i := range s.inputs {
		if fr := s.inputs[i].open; fr != nil {
			if err := fr.close(); err != nil && first == nil {
				first = err
			}
			s.inputs[i].open = nil
		}
	}
	s.err = errClosed
	return first
}
