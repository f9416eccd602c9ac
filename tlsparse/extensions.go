package tlsparse

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Extension is one hello extension in wire order. Data aliases the message
// body it was parsed from.
type Extension struct {
	Type ExtensionType
	Data []byte
}

// readExtensions reads an extensions block (RFC 8446, Section 4.2). An
// absent block is allowed (RFC 5246, Section 7.4.1.2: pre-extension
// clients). A duplicate type is kept and reported in notes.
func readExtensions(s *cryptobyte.String, msg string) ([]Extension, []string, error) {
	if s.Empty() {
		return nil, nil, nil
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) {
		return nil, nil, fmt.Errorf("tlsparse: %s extensions block: %w", msg, ErrMalformed)
	}
	var exts []Extension
	var notes []string
	var seen [64]uint64 // bitmap of the first 4096 types, for duplicates
	for !block.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !block.ReadUint16(&typ) || !block.ReadUint16LengthPrefixed(&data) {
			return nil, nil, fmt.Errorf("tlsparse: %s extension header: %w", msg, ErrMalformed)
		}
		if typ < 4096 {
			if seen[typ/64]&(1<<(typ%64)) != 0 {
				notes = append(notes, fmt.Sprintf("duplicate_extension_%d", typ))
			}
			seen[typ/64] |= 1 << (typ % 64)
		}
		exts = append(exts, Extension{Type: ExtensionType(typ), Data: data})
	}
	return exts, notes, nil
}
