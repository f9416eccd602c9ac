package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
)

// TestProgressWhileReading prints the progress line on every packet while
// the merger emits events: under -race it checks that the line reads only
// what is safe to read from the reading goroutine, and it checks what the
// line says of a regular file (percent read and time left).
func TestProgressWhileReading(t *testing.T) {
	files := []string{filepath.Join(pcapDir, "openssl", "tls12-ticket.pcap"), filepath.Join(pcapDir, "openssl", "tls13-psk.pcap")}
	src, err := capture.OpenFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := newOutput(io.Discard, "ndjson")
	ss := sessions.New(sessions.Config{EmitConn: out.conn, EmitSession: out.session})
	tr := flows.NewTracker(flows.Config{Workers: 2}, ss)
	var line bytes.Buffer
	prog := newProgress(&line, io.Discard, src, out, files)
	prog.w, prog.every = &line, 0
	for {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tr.Packet(p.Data, p.CI, p.LinkType, p.Frame)
		prog.tick()
	}
	tr.Close()
	prog.tick()
	if err := readAll(context.Background(), src, tr, prog, 0); err != nil {
		t.Fatal(err)
	}
	last := line.String()[strings.LastIndex(line.String(), "\r")+1:]
	if !strings.Contains(last, "TLS connections") || !strings.Contains(last, "100%, 0s left") {
		t.Errorf("last progress line %q, want the connections and 100%%, 0s left", last)
	}
	if n := out.tls.Load(); n == 0 {
		t.Error("no TLS connections counted")
	}
}
