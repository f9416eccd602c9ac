package capture

import (
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/tlsresume/tlsresume/capture/filter"
)

// Filtered returns a Source that delivers the packets of src that match the
// tcpdump filter expression expr ("tcp port 443"), for reading files with a
// filter as tcpdump -r does. The expression is compiled by filter.Compile
// (pure Go, or libpcap in the libpcap build) once for each link type met,
// and run over every packet without allocating. An empty expression
// returns src itself.
//
// The expression is compiled for Ethernet at once, so that a bad one is
// reported before any packet is read: a *filter.Error. One that cannot
// apply to a link type met later ("vlan" on Linux cooked packets) makes Next
// return that error. Stats counts the rejected packets in FilterRejected;
// its Packets, Bytes and SnaplenCut count only the delivered ones. Closing
// the returned Source closes src.
func Filtered(src Source, expr string) (Source, error) {
	if strings.TrimSpace(expr) == "" {
		return src, nil
	}
	f, err := filter.Compile(expr, layers.LinkTypeEthernet, filter.DefaultSnaplen)
	if err != nil {
		return nil, err
	}
	return &filtered{src: src, expr: expr, progs: []*filter.Filter{f}, last: f}, nil
}

type filtered struct {
	src   Source
	expr  string
	progs []*filter.Filter // one for each link type met
	last  *filter.Filter   // the one used last
	err   error            // sticky: a link type the expression cannot apply to

	rejected, rejectedBytes, rejectedCut uint64
}

func (s *filtered) Next() (Packet, error) {
	if s.err != nil {
		return Packet{}, s.err
	}
	for {
		p, err := s.src.Next()
		if err != nil {
			return p, err
		}
		f := s.last
		if f.LinkType() != p.LinkType {
			if f, err = s.forLinkType(p.LinkType); err != nil {
				s.err = err
				return Packet{}, err
			}
		}
		if f.Matches(p.CI, p.Data) {
			return p, nil
		}
		s.rejected++
		s.rejectedBytes += uint64(len(p.Data))
		if p.CI.CaptureLength < p.CI.Length {
			s.rejectedCut++
		}
	}
}

// forLinkType finds or compiles the program for lt.
func (s *filtered) forLinkType(lt layers.LinkType) (*filter.Filter, error) {
	for _, f := range s.progs {
		if f.LinkType() == lt {
			s.last = f
			return f, nil
		}
	}
	f, err := filter.Compile(s.expr, lt, filter.DefaultSnaplen)
	if err != nil {
		return nil, err
	}
	s.progs = append(s.progs, f)
	s.last = f
	return f, nil
}

func (s *filtered) Stats() Stats {
	st := s.src.Stats()
	st.Packets -= s.rejected
	st.Bytes -= s.rejectedBytes
	st.SnaplenCut -= s.rejectedCut
	st.FilterRejected += s.rejected
	return st
}

func (s *filtered) Close() error { return s.src.Close() }
