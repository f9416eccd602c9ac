//go:build unix

package capture

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges makes the process run as the named user (a name or a
// numeric id), with the user's primary and supplementary groups, as
// tcpdump -Z does. Call it after OpenLive: the open socket keeps working.
// On Linux it changes every thread of the process. Only a process with the
// privilege to change its ids (root) can do it; errors are *Error.
func DropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return privErr(name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return privErr(name, fmt.Errorf("user id %q is not a number", u.Uid))
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return privErr(name, fmt.Errorf("group id %q is not a number", u.Gid))
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && g != gid {
				groups = append(groups, g)
			}
		}
	}
	// Groups first: after setuid the process may no longer change them.
	if err := syscall.Setgroups(groups); err != nil {
		return privErr(name, fmt.Errorf("setgroups: %w", err))
	}
	if err := syscall.Setgid(gid); err != nil {
		return privErr(name, fmt.Errorf("setgid %d: %w", gid, err))
	}
	if err := syscall.Setuid(uid); err != nil {
		return privErr(name, fmt.Errorf("setuid %d: %w", uid, err))
	}
	return nil
}

func privErr(name string, err error) error {
	return &Error{Err: fmt.Errorf("cannot drop privileges to user %q: %w", name, err)}
}
