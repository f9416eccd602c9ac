package dtls

import "github.com/tlsresume/tlsresume/tlsparse"

// wireError is an error about bytes off the wire. It prints its own
// message only ("dtls: record header ...: malformed") and unwraps to one of
// tlsparse's sentinels, so a caller branches on tlsparse.ErrMalformed and
// tlsparse.ErrTooLarge for TLS and DTLS alike.
type wireError struct {
	msg string
	err error
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.err }

func malformed(what string) error {
	return &wireError{msg: "dtls: " + what + ": malformed", err: tlsparse.ErrMalformed}
}

func tooLarge(what string) error {
	return &wireError{msg: "dtls: " + what + ": too large", err: tlsparse.ErrTooLarge}
}
