//go:build !unix

package capture

import (
	"errors"
	"fmt"
)

// DropPrivileges changes the user the process runs as (tcpdump -Z). It
// exists on Unix systems only; here it returns an error.
func DropPrivileges(name string) error {
	return &Error{Err: fmt.Errorf("cannot drop privileges to user %q: %w", name, errors.ErrUnsupported)}
}
