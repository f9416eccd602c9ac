package tlsgen

import (
	"bytes"
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// A deliberately small reading of the first ClientHello and ServerHello on the wire, used only
// to cross-check what the stacks and the session cache report. It shares no code with the
// module's tlsparse package on purpose: this package is the independent source of truth.

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest (RFC 8446, Section 4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

type wireHello struct {
	ticket   []byte // non-empty session_ticket extension (RFC 5077)
	pskIDs   [][]byte
	sni      string
	hrr      bool // ServerHello only
	isServer bool
}

var errWire = errors.New("tlsgen: cannot read hello on the wire")

// firstHandshake returns the body of the first handshake message in the records of b.
func firstHandshake(b []byte) (typ uint8, body []byte, err error) {
	var hs []byte
	s := cryptobyte.String(b)
	for !s.Empty() {
		var ct uint8
		var vers uint16
		var frag cryptobyte.String
		if !s.ReadUint8(&ct) || !s.ReadUint16(&vers) || !s.ReadUint16LengthPrefixed(&frag) {
			return 0, nil, errWire
		}
		if ct != 22 { // RFC 8446, Section 5.1: handshake
			if len(hs) == 0 {
				continue
			}
			break
		}
		hs = append(hs, frag...)
		if len(hs) >= 4 {
			n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
			if len(hs) >= 4+n {
				return hs[0], hs[4 : 4+n], nil
			}
		}
	}
	return 0, nil, errWire
}

// parseHello reads a ClientHello (RFC 8446, Section 4.1.2) or ServerHello (Section 4.1.3).
func parseHello(b []byte) (wireHello, error) {
	typ, body, err := firstHandshake(b)
	if err != nil {
		return wireHello{}, err
	}
	var h wireHello
	s := cryptobyte.String(body)
	var vers uint16
	var random, sid []byte
	if !s.ReadUint16(&vers) || !s.ReadBytes(&random, 32) || !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&sid)) {
		return h, errWire
	}
	switch typ {
	case 1:
		var suites, comp cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&suites) || !s.ReadUint8LengthPrefixed(&comp) {
			return h, errWire
		}
	case 2:
		h.isServer = true
		h.hrr = bytes.Equal(random, helloRetryRandom)
		var suite uint16
		var comp uint8
		if !s.ReadUint16(&suite) || !s.ReadUint8(&comp) {
			return h, errWire
		}
	default:
		return h, errWire
	}
	if s.Empty() {
		return h, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return h, errWire
	}
	for !exts.Empty() {
		var et uint16
		var ed cryptobyte.String
		if !exts.ReadUint16(&et) || !exts.ReadUint16LengthPrefixed(&ed) {
			return h, errWire
		}
		if h.isServer {
			continue
		}
		switch et {
		case 0: // server_name, RFC 6066, Section 3
			var list cryptobyte.String
			if !ed.ReadUint16LengthPrefixed(&list) {
				return h, errWire
			}
			for !list.Empty() {
				var nt uint8
				var name cryptobyte.String
				if !list.ReadUint8(&nt) || !list.ReadUint16LengthPrefixed(&name) {
					return h, errWire
				}
				if nt == 0 {
					h.sni = string(name)
				}
			}
		case 35: // session_ticket, RFC 5077, Section 3.2
			h.ticket = append([]byte(nil), ed...)
		case 41: // pre_shared_key, RFC 8446, Section 4.2.11
			var ids cryptobyte.String
			if !ed.ReadUint16LengthPrefixed(&ids) {
				return h, errWire
			}
			for !ids.Empty() {
				var id cryptobyte.String
				var age uint32
				if !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&age) {
					return h, errWire
				}
				h.pskIDs = append(h.pskIDs, append([]byte(nil), id...))
			}
		}
	}
	return h, nil
}
