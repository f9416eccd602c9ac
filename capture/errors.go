package capture

import (
	"errors"
	"fmt"
)

// ErrTruncated is wrapped by the error for a capture file that ends inside a
// file header, a packet record, a pcapng block or its gzip stream. The
// packets before the cut have been delivered when it is returned.
var ErrTruncated = errors.New("truncated capture file")

// ErrNotCapture is wrapped by the error for an input that is not a pcap or
// pcapng file, plain or gzip-compressed.
var ErrNotCapture = errors.New("not a capture file")

// ErrUnsupportedLinkType is wrapped by the error for a pcap file whose link
// type flows cannot decode.
var ErrUnsupportedLinkType = errors.New("unsupported link type")

// Error is the error type of the package for everything that concerns one
// input. Its message is one line: "capture: FILE: what went wrong".
type Error struct {
	// File is the name as given to OpenFiles; "-" is the standard input.
	// For a live capture it is the interface.
	File string
	// Err says what went wrong. It wraps ErrTruncated, ErrNotCapture,
	// ErrUnsupportedLinkType or the operating system's error where there is
	// one, so errors.Is works on it.
	Err error
	// Hint, when not empty, is one more line for a person: what to do about
	// it. It is not part of the message.
	Hint string
}

func (e *Error) Error() string {
	if e.File == "" {
		return "capture: " + e.Err.Error()
	}
	return "capture: " + displayName(e.File) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// displayName is the name of an input in messages.
func displayName(name string) string {
	if name == stdinName {
		return "stdin"
	}
	return name
}

// packets is "1 packet" or "n packets".
func packets(n uint64) string {
	if n == 1 {
		return "1 packet"
	}
	return fmt.Sprintf("%d packets", n)
}

// truncated is the error for an input cut short. after is "" in the file
// header, else " after N packets"; where says where the cut is.
func truncated(after, where string) error {
	return fmt.Errorf("%w%s (%s)", ErrTruncated, after, where)
}
