package keylog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SecretsTypeTLSKeyLog is the pcapng Decryption Secrets Block secrets type
// whose data is NSS key log text ("TLSK", draft-ietf-opsawg-pcapng,
// Section 4.7).
const SecretsTypeTLSKeyLog uint32 = 0x544c534b

// ErrNotTLSKeyLog is returned by AddDSB for a Decryption Secrets Block of
// another secrets type (WireGuard, SSH, ...), which the caller counts and
// skips.
var ErrNotTLSKeyLog = errors.New("keylog: decryption secrets block is not a tls key log")

// ParseDSB splits the body of a pcapng Decryption Secrets Block (block type
// 0x0000000A): the bytes after Block Total Length and before the trailing
// copy of it. order is the section's byte order. The secrets data aliases
// body; the options after it are ignored.
func ParseDSB(body []byte, order binary.ByteOrder) (secretsType uint32, data []byte, err error) {
	// draft-ietf-opsawg-pcapng, Section 4.7: Secrets Type (32 bits),
	// Secrets Length (32 bits), Secrets Data padded to 32 bits, options.
	if len(body) < 8 {
		return 0, nil, fmt.Errorf("keylog: decryption secrets block of %d bytes: %w", len(body), ErrMalformed)
	}
	secretsType = order.Uint32(body[0:4])
	n := order.Uint32(body[4:8])
	if uint64(n) > uint64(len(body)-8) {
		return 0, nil, fmt.Errorf("keylog: decryption secrets length %d over block of %d: %w", n, len(body), ErrMalformed)
	}
	return secretsType, body[8 : 8+n], nil
}

// AddDSB adds the key log text of a Decryption Secrets Block's data to s,
// counting lines as ReadFrom does (line numbers restart at 1). A block of
// another secrets type returns ErrNotTLSKeyLog and is counted in
// Stats.DSBSkipped.
func (s *Store) AddDSB(secretsType uint32, data []byte) error {
	if secretsType != SecretsTypeTLSKeyLog {
		s.stats.DSBSkipped++
		return fmt.Errorf("%w: type 0x%08x", ErrNotTLSKeyLog, secretsType)
	}
	var sp splitter
	sp.write(s, data)
	sp.end(s)
	return nil
}
