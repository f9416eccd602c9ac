package quic

import (
	"errors"
	"io"
)

// Sentinels a caller branches on. Every error this package returns wraps
// one of them or io.ErrUnexpectedEOF; [Reason] names the counter for each.
var (
	// ErrMalformed says the bytes cannot be the QUIC structure they claim
	// to be (as opposed to io.ErrUnexpectedEOF: a length runs past the
	// datagram or payload).
	ErrMalformed = errors.New("quic: malformed")
	// ErrUnknownVersion is returned for a long header whose version is
	// neither 1 (RFC 9000) nor 2 (RFC 9369): its invariant fields are read
	// (RFC 8999) but nothing after them.
	ErrUnknownVersion = errors.New("quic: unknown version")
	// ErrDecrypt says the AEAD did not open the packet: wrong keys, a
	// corrupted packet, or not QUIC at all.
	ErrDecrypt = errors.New("quic: decryption failed")
	// ErrUnknownFrame is returned by [FrameReader] at a frame type it does
	// not know, or one the packet's space may not carry (RFC 9000,
	// Section 12.4, Table 3). The frames before it were read.
	ErrUnknownFrame = errors.New("quic: unknown frame")
	// ErrCryptoBound is returned by [CryptoStream] for CRYPTO data past
	// its bounds (buffered bytes, largest offset, number of gaps).
	ErrCryptoBound = errors.New("quic: crypto data over bound")
	// ErrRetryIntegrity says a Retry packet's integrity tag does not match
	// (RFC 9001, Section 5.8).
	ErrRetryIntegrity = errors.New("quic: retry integrity tag mismatch")
)

// Reason returns the stable snake_case counter name for an error returned
// by this package ("" for nil), for a summary that says why a flow gave
// nothing.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "quic_truncated"
	case errors.Is(err, ErrUnknownVersion):
		return "quic_unknown_version"
	case errors.Is(err, ErrDecrypt):
		return "quic_decrypt_failed"
	case errors.Is(err, ErrUnknownFrame):
		return "quic_unknown_frame"
	case errors.Is(err, ErrCryptoBound):
		return "quic_crypto_over_bound"
	case errors.Is(err, ErrRetryIntegrity):
		return "quic_retry_integrity"
	case errors.Is(err, ErrMalformed):
		return "quic_malformed"
	}
	return "quic_error"
}
