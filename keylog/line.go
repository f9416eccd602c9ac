package keylog

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// MaxLineLen bounds one key log line, its line ending excluded. The
// longest well-formed line is 193 bytes (a 31-byte label, 64 hex digits of
// client random, 96 of secret, two spaces); a longer line is malformed
// unless it is a comment, and is skipped without being buffered.
const MaxLineLen = 1024

// MaxSecretLen is the longest secret a key log line carries (SHA-384).
const MaxSecretLen = 48

// ErrMalformed is wrapped by the error for a line that is not
// `LABEL <64 hex digits> <64 or 96 hex digits>`.
var ErrMalformed = errors.New("keylog: malformed line")

// ErrUnknownLabel is wrapped by the error for a well-formed line (three
// fields) whose label this package does not keep, such as RSA or
// EARLY_EXPORTER_SECRET.
var ErrUnknownLabel = errors.New("keylog: unknown label")

// Entry is one parsed key log line.
type Entry struct {
	Label        Label
	ClientRandom [32]byte
	Secret       [MaxSecretLen]byte
	SecretLen    int // 32 or 48
}

// SecretBytes returns the secret, aliasing e.
func (e *Entry) SecretBytes() []byte { return e.Secret[:e.SecretLen] }

// isSpace reports the field separators NSS and its imitators write.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// nextField returns the next run of non-space bytes in line and the rest.
func nextField(line []byte) (field, rest []byte) {
	i := 0
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	j := i
	for j < len(line) && !isSpace(line[j]) {
		j++
	}
	return line[i:j], line[j:]
}

// ParseLine parses one key log line, given without its LF; a trailing CR is
// ignored. It reports ok == false, with a nil error, for a blank line or a
// comment. Otherwise the error wraps ErrUnknownLabel or ErrMalformed. It
// does not allocate on success and does not keep line.
func ParseLine(line []byte) (e Entry, ok bool, err error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	label, rest := nextField(line)
	if len(label) == 0 {
		return e, false, nil // blank
	}
	if label[0] == '#' {
		return e, false, nil // comment
	}
	if len(line) > MaxLineLen {
		return e, false, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLineLen)
	}
	cr, rest := nextField(rest)
	secret, rest := nextField(rest)
	extra, _ := nextField(rest)
	if len(secret) == 0 || len(extra) != 0 {
		return e, false, fmt.Errorf("%w: want 3 fields", ErrMalformed)
	}
	e.Label = lookupLabel(label)
	if e.Label == LabelUnknown {
		return Entry{}, false, ErrUnknownLabel
	}
	if len(cr) != 2*len(e.ClientRandom) {
		return Entry{}, false, fmt.Errorf("%w: client random of %d hex digits", ErrMalformed, len(cr))
	}
	if len(secret)%2 != 0 || !validSecretLen(e.Label, len(secret)/2) {
		return Entry{}, false, fmt.Errorf("%w: %s secret of %d hex digits", ErrMalformed, e.Label, len(secret))
	}
	if _, err := hex.Decode(e.ClientRandom[:], cr); err != nil {
		return Entry{}, false, fmt.Errorf("%w: client random: %w", ErrMalformed, err)
	}
	e.SecretLen = len(secret) / 2
	if _, err := hex.Decode(e.Secret[:e.SecretLen], secret); err != nil {
		return Entry{}, false, fmt.Errorf("%w: secret: %w", ErrMalformed, err)
	}
	return e, true, nil
}

// AppendLine appends e as a key log line, lower-case hex and single
// spaces, without a line ending. ParseLine of the result gives e back.
func AppendLine(dst []byte, e *Entry) []byte {
	dst = append(dst, e.Label.String()...)
	dst = append(dst, ' ')
	dst = hex.AppendEncode(dst, e.ClientRandom[:])
	dst = append(dst, ' ')
	return hex.AppendEncode(dst, e.SecretBytes())
}
