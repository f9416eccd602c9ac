//go:build libpcap

package filter

import (
	"encoding/binary"
	"os"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

// Backend names the compiler behind Compile: "go" in the default build,
// "libpcap" in the libpcap build.
const Backend = "libpcap"

// Compile compiles expr for packets of link type lt. In the libpcap build it
// is libpcap's compiler (pcap_compile, the whole pcap-filter(7) syntax), and
// Filter.Matches is libpcap's interpreter (pcap_offline_filter). In the
// default build it is CompileGo. An empty expression matches every packet.
// Errors are *Error, with libpcap's message.
func Compile(expr string, lt layers.LinkType, snaplen int) (*Filter, error) {
	if snaplen <= 0 {
		snaplen = DefaultSnaplen
	}
	if strings.TrimSpace(expr) == "" {
		return CompileGo(expr, lt, snaplen)
	}
	if _, err := linkFor(lt); err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	// Compile as for a capture file, as tcpdump -r does: with a handle
	// from pcap_open_dead, libpcap takes DLT_NULL and DLT_LOOP families
	// from this host (AF_INET6 10 on Linux) instead of the BSD ones.
	h, err := openFileHandle(lt, snaplen)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	defer h.Close()
	ins, err := h.CompileBPFFilter(expr)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	m, err := h.NewBPF(expr)
	if err != nil {
		return nil, &Error{Expr: expr, Msg: err.Error(), kind: errValue}
	}
	raw := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog, _ := bpf.Disassemble(raw) // instructions it does not know stay RawInstruction
	return &Filter{expr: strings.TrimSpace(expr), lt: lt, prog: prog, raw: raw, matcher: m}, nil
}

// openFileHandle opens a libpcap handle on an empty pcap file of link
// type lt, given through a pipe.
func openFileHandle(lt layers.LinkType, snaplen int) (*pcap.Handle, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	hdr := binary.NativeEndian.AppendUint32(nil, 0xa1b2c3d4)
	hdr = binary.NativeEndian.AppendUint16(hdr, 2)
	hdr = binary.NativeEndian.AppendUint16(hdr, 4)
	hdr = append(hdr, 0, 0, 0, 0, 0, 0, 0, 0)
	hdr = binary.NativeEndian.AppendUint32(hdr, uint32(snaplen))
	hdr = binary.NativeEndian.AppendUint32(hdr, uint32(lt))
	_, err = w.Write(hdr)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return pcap.OpenOfflineFile(r)
}
