package tlsparse

import "errors"

// The sentinels' texts carry no package prefix: the error that wraps them
// names the package and the structure once, so a caller sees
// "tlsparse: client hello: malformed", never the prefix twice.

// ErrMalformed is wrapped by every error that says the bytes are not
// well-formed TLS (as opposed to io.ErrUnexpectedEOF, which says more bytes
// are needed).
var ErrMalformed = errors.New("malformed")

// ErrTooLarge is wrapped by errors for a record or handshake message whose
// announced length is over the configured bound.
var ErrTooLarge = errors.New("too large")
