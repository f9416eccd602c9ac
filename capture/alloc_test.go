package capture

import (
	"bytes"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestNextAllocs(t *testing.T) {
	// Reading a packet allocates nothing once the buffers exist. pcapgo
	// allocates for pcapng packet options (comments, flags, ...) and for
	// link types of 256 and up (the interface value of AncillaryData); the
	// files here have neither. compress/flate allocates Huffman link tables
	// for some dynamic blocks, once per block, not per packet: the random
	// data here is stored, and AllocsPerRun rounds down.
	ps := genPackets(7, 1100, 600, 0)
	pcap, _, _ := writePcap(t, ps, layers.LinkTypeEthernet, true)
	ng, _, _ := writeNg(t, ps)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"pcap", pcap},
		{"pcap.gz", gz(t, pcap)},
		{"pcapng", ng},
		{"pcapng.gz", gz(t, ng)},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := OpenFiles([]string{"-"}, bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			next := func() {
				if _, err := src.Next(); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				next()
			}
			if n := testing.AllocsPerRun(1000, next); n != 0 {
				t.Errorf("%v allocations per packet, want 0", n)
			}
			if _, err := readAll(t, src); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		})
	}
}
