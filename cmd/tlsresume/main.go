// Command tlsresume reads TLS handshakes from packet captures and tells,
// for every connection, whether it made a full handshake or resumed a
// session, by which mechanism, and which session it belongs to.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usageText = `usage: tlsresume -r FILE [-r FILE ...] [flags]

Reads TLS handshakes from pcap or pcapng captures (gzip accepted, "-" for
stdin) and prints, as NDJSON, one "conn" event per TLS connection (full or
resumed, by which mechanism, what was offered, whether an offer was
rejected), one "session" event per TLS session, and a final "summary".

Examples:
  tlsresume -r capture.pcap | jq -c 'select(.type=="conn")'
  tlsresume -r a.pcapng -r b.pcap.gz --format text
  tcpdump -w - -U port 443 | tlsresume -r -
  tlsresume -r capture.pcap | jq -s 'map(select(.type=="conn" and .rejected))'

Flags:
`

type options struct {
	files          []string
	format         string
	sessionTimeout time.Duration
	workers        int
	version        bool
	help           bool
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("tlsresume", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	fs.StringArrayVarP(&o.files, "read", "r", nil, "read packets from `FILE` (repeatable, read in order; - for stdin)")
	fs.StringVar(&o.format, "format", "ndjson", "output `FORMAT`: ndjson or text")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", time.Hour, "end a session unused for `DURATION` (or its ticket lifetime hint, when longer)")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "reassemble and read handshakes in `N` goroutines (the output does not depend on N)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVarP(&o.help, "help", "h", false, "print this help and exit")
	fs.SortFlags = false
	usage := func(w io.Writer) {
		fmt.Fprint(w, usageText)
		fmt.Fprint(w, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "tlsresume: %v\n", err)
		fmt.Fprintln(stderr, "tlsresume: hint: tlsresume --help shows the usage")
		return exitUsage
	}
	if o.help {
		usage(stdout)
		return exitOK
	}
	if o.version {
		fmt.Fprintf(stdout, "tlsresume %s\n", version())
		return exitOK
	}
	if o.format != "ndjson" && o.format != "text" {
		fmt.Fprintf(stderr, "tlsresume: unknown format %q (want ndjson or text)\n", o.format)
		return exitUsage
	}
	if o.workers < 1 || o.workers > 256 {
		fmt.Fprintf(stderr, "tlsresume: --workers %d: want 1 to 256\n", o.workers)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tlsresume: filters are not supported yet: %q\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	if len(o.files) == 0 {
		fmt.Fprintln(stderr, "tlsresume: no input: give -r FILE")
		fmt.Fprintln(stderr, "tlsresume: hint: tlsresume --help shows the usage")
		return exitUsage
	}
	src, err := capture.OpenFiles(o.files, stdin)
	if err != nil {
		printErr(stderr, err)
		return exitFailure
	}
	defer src.Close()

	out := newOutput(stdout, o.format)
	sessions := flows.NewSessions()
	tr := flows.NewTracker(flows.Config{Emit: out.conn, EmitSession: out.session, SessionTimeout: o.sessionTimeout, Workers: o.workers}, sessions)
	prog := newProgress(stderr, src, out)
	readErr := readAll(ctx, src, tr, prog)
	prog.done()
	tr.Close()
	for _, s := range sessions.All() {
		out.session(s)
	}
	sum := newSummary(tr, sessions, out)
	if errors.Is(readErr, context.Canceled) {
		sum.Interrupted = true
		readErr = nil
	}
	out.summary(sum)
	if err := out.close(); err != nil {
		fmt.Fprintf(stderr, "tlsresume: writing output: %v\n", err)
		return exitFailure
	}
	if readErr != nil {
		printErr(stderr, readErr)
		return exitFailure
	}
	return exitOK
}

// readAll feeds every packet of src to the tracker.
func readAll(ctx context.Context, src capture.Source, tr *flows.Tracker, prog *progress) error {
	for n := 0; ; n++ {
		if n&0xffff == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			prog.tick()
		}
		p, err := src.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		tr.Packet(p.Data, p.CI, p.LinkType)
	}
}

// printErr prints an error, and its hint when it has one, on stderr.
func printErr(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "tlsresume: %v\n", trimPrefix(err))
	var ce *capture.Error
	if errors.As(err, &ce) && ce.Hint != "" {
		fmt.Fprintf(stderr, "tlsresume: hint: %s\n", ce.Hint)
	}
}

// trimPrefix drops a package prefix ("capture: ") so that errors read
// "tlsresume: FILE: ...".
func trimPrefix(err error) string {
	s := err.Error()
	for _, p := range []string{"capture: ", "flows: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
			v = "devel-" + s.Value[:12]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v + " " + bi.GoVersion
}
