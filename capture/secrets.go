package capture

import (
	"encoding/binary"
	"fmt"
)

// SecretsType is the type of the secrets in a pcapng Decryption Secrets
// Block (draft-ietf-opsawg-pcapng, Section 4.8, Secrets Type).
type SecretsType uint32

// Secrets types of draft-ietf-opsawg-pcapng, Section 4.8.
const (
	SecretsTLSKeyLog       SecretsType = 0x544c534b // "TLSK": NSS key log lines
	SecretsSSHKeyLog       SecretsType = 0x5353484b // "SSHK"
	SecretsWireGuardKeyLog SecretsType = 0x57474b4c // "WGKL"
	SecretsZigbeeNWKKey    SecretsType = 0x5a4e574b // "ZNWK"
	SecretsZigbeeAPSKey    SecretsType = 0x5a415053 // "ZAPS"
)

func (t SecretsType) String() string {
	switch t {
	case SecretsTLSKeyLog:
		return "TLS key log"
	case SecretsSSHKeyLog:
		return "SSH key log"
	case SecretsWireGuardKeyLog:
		return "WireGuard key log"
	case SecretsZigbeeNWKKey:
		return "Zigbee NWK key"
	case SecretsZigbeeAPSKey:
		return "Zigbee APS key"
	}
	return fmt.Sprintf("0x%08x", uint32(t))
}

// Secrets is the content of one pcapng Decryption Secrets Block.
type Secrets struct {
	// File is the input it was read from, as given to OpenFiles.
	File string
	// Type says what Data holds; for SecretsTLSKeyLog, NSS key log text
	// (lines of "LABEL CLIENT_RANDOM SECRET", hex).
	Type SecretsType
	// Data is the secrets, without the block's padding. It is a copy that
	// belongs to the receiver.
	Data []byte
}

// Options are the optional settings of OpenFilesWith.
type Options struct {
	// Secrets, when not nil, is called with each Decryption Secrets Block
	// of a pcapng input, of any secrets type, in file order. It is called
	// from Next, on the caller's goroutine, before Next returns any packet
	// that follows the block in the file (perhaps before some that precede
	// it in the same read-ahead block), and before Next moves on to the
	// next input or returns its error. A block cut short by the end of the
	// file is not passed on. Packets are not counted in frames for it.
	Secrets func(Secrets)
}

// Bounds of the Decryption Secrets Block scanner.
const (
	// maxSecretsBlock is the largest Decryption Secrets Block passed on;
	// longer ones are skipped. Real key logs are kilobytes.
	maxSecretsBlock = 16 << 20
	// ngHeaderLen is what the scanner reads of every block: type, total
	// length, and the first body word (the byte-order magic of a Section
	// Header Block, the secrets type of a Decryption Secrets Block).
	ngHeaderLen = 12
	// ngEPBFixed is what the scanner reads of an Enhanced Packet Block
	// after its header: timestamp (upper, lower) and captured length.
	ngEPBFixed = 12
	// ngEPBOverhead is an Enhanced Packet Block without packet data or
	// options: type, length, interface, timestamp (2 words), captured and
	// original length, trailing length (Section 4.3).
	ngEPBOverhead = 32
)

// pcapng block types (draft-ietf-opsawg-pcapng, Sections 4.1 and 4.8) and
// the byte-order magic (Section 4.1).
const (
	ngSectionHeader   = 0x0a0d0d0a
	ngDecryptSecrets  = 0x0000000a
	ngByteOrderMagic  = 0x1a2b3c4d
	ngMinBlockLength  = 12
	ngPacket          = 0x00000002 // obsolete Packet Block, Appendix A
	ngSimplePacket    = 0x00000003
	ngEnhancedPacket  = 0x00000006
	ngJournal         = 0x00000009 // systemd Journal Export Block, Section 4.7
	ngCustom          = 0x00000bad // Custom Block, Section 4.9
	ngCustomNoCopy    = 0x40000bad
	ngSecretsBodyHead = 8 // secrets type, secrets length
)

// ngScanner finds the Decryption Secrets Blocks in a pcapng byte stream
// shown to it in order, in pieces of any size, without parsing anything but
// block headers: pcapgo's reader reads every block, but keeps their
// secrets to itself. It stops looking at the first block whose length is
// not one (pcapgo reports the file as malformed there, or before).
type ngScanner struct {
	order binary.ByteOrder // of the current section; nil before the first
	skip  uint64           // bytes of the current block still to pass over
	hdr   [ngHeaderLen]byte
	nhdr  int
	dsb   []byte // the Decryption Secrets Block being collected, from its body
	want  int    // bytes of it still to collect
	// epb holds the fixed fields of an Enhanced Packet Block after its
	// interface ID (timestamp, captured length), nepb how many are in.
	epb    [ngEPBFixed]byte
	nepb   int
	epbLen uint32 // the block's total length, while epb fills
	inEPB  bool
	broken bool
	// bad says why the scanner stopped when a block's lengths cannot be
	// right; the file is then malformed, not cut, whatever pcapgo says.
	bad   string
	found []Secrets // complete blocks, for the Source to pass on
	// packets counts the packet blocks seen. frames holds, for each
	// block that Wireshark counts as a frame but pcapgo does not return
	// (custom blocks, systemd journal entries), how many packet blocks
	// came before it, for the frame numbers.
	packets uint64
	frames  []uint64
}

// feed shows the scanner the next bytes of the stream.
func (sc *ngScanner) feed(p []byte) {
	for len(p) > 0 && !sc.broken {
		switch {
		case sc.want > 0:
			n := min(sc.want, len(p))
			sc.dsb = append(sc.dsb, p[:n]...)
			sc.want -= n
			p = p[n:]
			if sc.want == 0 {
				sc.secrets()
			}
		case sc.inEPB:
			n := copy(sc.epb[sc.nepb:], p)
			sc.nepb += n
			p = p[n:]
			if sc.nepb == ngEPBFixed {
				sc.inEPB, sc.nepb = false, 0
				sc.enhanced()
			}
		case sc.skip > 0:
			n := min(sc.skip, uint64(len(p)))
			sc.skip -= n
			p = p[n:]
		default:
			n := copy(sc.hdr[sc.nhdr:], p)
			sc.nhdr += n
			p = p[n:]
			if sc.nhdr == ngHeaderLen {
				sc.nhdr = 0
				sc.header()
			}
		}
	}
}

// header reads the 12 bytes at the start of a block.
func (sc *ngScanner) header() {
	h := sc.hdr[:]
	if binary.LittleEndian.Uint32(h) == ngSectionHeader { // the same in either order
		// draft-ietf-opsawg-pcapng, Section 4.1: the Byte-Order Magic
		// says the order of the section.
		switch {
		case binary.LittleEndian.Uint32(h[8:]) == ngByteOrderMagic:
			sc.order = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic:
			sc.order = binary.BigEndian
		default:
			sc.broken = true // pcapgo names the bad magic
			return
		}
	}
	if sc.order == nil {
		sc.broken = true
		return
	}
	// Section 3.1: the Block Total Length counts the whole block, a
	// multiple of 4, at least the two length fields and the type.
	length := sc.order.Uint32(h[4:])
	if length < ngMinBlockLength {
		sc.stop(fmt.Sprintf("block length %d below the minimum of %d", length, ngMinBlockLength))
		return
	}
	if length%4 != 0 {
		sc.stop(fmt.Sprintf("block length %d not a multiple of 4", length))
		return
	}
	rest := uint64(length) - ngHeaderLen
	switch sc.order.Uint32(h) {
	case ngPacket, ngSimplePacket, ngEnhancedPacket:
		sc.packets++
	case ngCustom, ngCustomNoCopy, ngJournal:
		// Wireshark reads these as records of their own, with a frame
		// number (wiretap/pcapng.c: REC_TYPE_CUSTOM_BLOCK,
		// REC_TYPE_SYSTEMD_JOURNAL_EXPORT).
		sc.frames = append(sc.frames, sc.packets)
	}
	if sc.order.Uint32(h) == ngDecryptSecrets && length <= maxSecretsBlock {
		sc.dsb = append(sc.dsb[:0], h[8:]...)
		sc.want = int(rest)
		if sc.want == 0 {
			sc.secrets()
		}
		return
	}
	if sc.order.Uint32(h) == ngEnhancedPacket {
		if length < ngEPBOverhead {
			sc.stop(fmt.Sprintf("enhanced packet block length %d below the minimum of %d", length, ngEPBOverhead))
			return
		}
		sc.inEPB, sc.epbLen = true, length
		sc.skip = rest - ngEPBFixed
		return
	}
	sc.skip = rest
}

// enhanced checks the captured length of an Enhanced Packet Block against
// the block's length: the packet data, padded to 32 bits, must fit.
func (sc *ngScanner) enhanced() {
	caplen := uint64(sc.order.Uint32(sc.epb[8:]))
	if room := uint64(sc.epbLen - ngEPBOverhead); (caplen+3)&^3 > room {
		sc.stop(fmt.Sprintf("enhanced packet block captured length %d beyond its block of %d bytes", caplen, sc.epbLen))
	}
}

// stop ends the scan at a block whose lengths cannot be right.
func (sc *ngScanner) stop(why string) {
	sc.broken, sc.bad = true, why
}

// secrets takes the secrets out of a collected Decryption Secrets Block:
// its body from the secrets type on, and its trailing length.
func (sc *ngScanner) secrets() {
	b := sc.dsb
	if len(b) < ngSecretsBodyHead+4 {
		return // no room for the secrets length: pcapgo reports it
	}
	// Section 4.8: Secrets Type, Secrets Length, the secrets padded to
	// 32 bits, options.
	typ := SecretsType(sc.order.Uint32(b))
	n := uint64(sc.order.Uint32(b[4:]))
	if n > uint64(len(b)-ngSecretsBodyHead-4) {
		return // longer than its block
	}
	data := make([]byte, n)
	copy(data, b[ngSecretsBodyHead:])
	sc.found = append(sc.found, Secrets{Type: typ, Data: data})
}
