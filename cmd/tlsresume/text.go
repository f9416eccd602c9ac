package main

import (
	"fmt"
	"io"

	"github.com/tlsresume/tlsresume/flows"
)

// writeText prints the report for people.
func writeText(w io.Writer, s *summary, conns []*flows.Conn, sessions []*flows.Session) error {
	_, err := fmt.Fprintf(w, "TLS connections %d: full %d, resumed %d (%.1f%%), unknown %d; rejected offers %d\n",
		s.TLSConnections, s.Full, s.Resumed, 100*s.ResumptionRate, s.Unknown, s.Rejected)
	return err
}
