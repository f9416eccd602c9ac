package tlsparse

import "errors"

// ErrMalformed is wrapped by every error that says the bytes are not
// well-formed TLS (as opposed to io.ErrUnexpectedEOF, which says more bytes
// are needed).
var ErrMalformed = errors.New("tlsparse: malformed")

// ErrTooLarge is wrapped by errors for a record or handshake message whose
// announced length is over the configured bound.
var ErrTooLarge = errors.New("tlsparse: too large")
