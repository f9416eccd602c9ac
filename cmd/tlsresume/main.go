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
	"github.com/tlsresume/tlsresume/sessions"
)

// memoryLimit is the soft limit given to the Go runtime: past it the
// garbage collector works harder rather than let the heap double.
const memoryLimit = 192 << 20

func main() {
	debug.SetMemoryLimit(memoryLimit)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, the next one ends the process at once.
		<-ctx.Done()
		stop()
	}()
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

const usageText = `usage: tlsresume -r FILE [-r FILE ...] [flags] [FILTER]
       tlsresume -i IFACE [flags] [FILTER]

Reads TLS handshakes from pcap or pcapng captures (gzip accepted, "-" for
stdin) or a live interface, and prints, as NDJSON, one "conn" event per TLS
connection (full or resumed, by which mechanism, what was offered, whether
an offer was rejected), one "session" event per TLS session, and a final
"summary". FILTER is a tcpdump filter expression ("tcp port 443").

Examples:
  tlsresume -r capture.pcap | jq -c 'select(.type=="conn")'
  tlsresume -r a.pcapng -r b.pcap.gz --format text
  tlsresume -r capture.pcap 'tcp port 443 or tcp port 8443'
  sudo tlsresume -i eth0 'tcp port 443' | jq -c 'select(.type=="conn")'
  tcpdump -w - -U port 443 | tlsresume -r -
  tlsresume -r capture.pcap | jq -s 'map(select(.type=="conn" and .rejected))'

Flags:
`

type options struct {
	files          []string
	iface          string
	snaplen        int
	noPromisc      bool
	count          int64
	duration       time.Duration
	list           bool
	user           string
	filter         string
	format         string
	sessionTimeout time.Duration
	flowTimeout    time.Duration
	maxFlows       int
	maxSessions    int
	workers        int
	version        bool
	help           bool
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("tlsresume", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	fs.StringArrayVarP(&o.files, "read", "r", nil, "read packets from `FILE` (repeatable, read in order; - for stdin)")
	fs.StringVarP(&o.iface, "interface", "i", "", "capture live on `IFACE` (\"any\" for all; needs root or CAP_NET_RAW)")
	fs.IntVarP(&o.snaplen, "snapshot-length", "s", 0, "live: keep `SNAPLEN` bytes of each packet (default 262144)")
	fs.BoolVarP(&o.noPromisc, "no-promiscuous-mode", "p", false, "live: do not put the interface in promiscuous mode")
	fs.Int64VarP(&o.count, "count", "c", 0, "stop after `N` packets")
	fs.DurationVar(&o.duration, "duration", 0, "live: stop after `DURATION` (e.g. 30s, 10m)")
	fs.BoolVarP(&o.list, "list-interfaces", "D", false, "list the interfaces -i can capture on and exit")
	fs.StringVarP(&o.user, "relinquish-privileges", "Z", "", "live: drop privileges to `USER` once the capture is open")
	fs.StringVar(&o.format, "format", "ndjson", "output `FORMAT`: ndjson or text")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", time.Hour, "end a session unused for `DURATION` (or its ticket lifetime hint, when longer)")
	fs.DurationVar(&o.flowTimeout, "flow-timeout", 10*time.Minute, "forget a connection whose handshake was read after `DURATION` without packets")
	fs.IntVar(&o.maxFlows, "max-flows", 100000, "track at most `N` TCP connections (the oldest are evicted first)")
	fs.IntVar(&o.maxSessions, "max-sessions", 50000, "hold at most `N` sessions (the oldest end first)")
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
	switch {
	case o.help:
		usage(stdout)
		return exitOK
	case o.version:
		fmt.Fprintf(stdout, "tlsresume %s\n", version())
		return exitOK
	case o.list:
		return listInterfaces(stdout, stderr)
	}
	if msg := o.check(); msg != "" {
		fmt.Fprintf(stderr, "tlsresume: %s\n", msg)
		fmt.Fprintln(stderr, "tlsresume: hint: tlsresume --help shows the usage")
		return exitUsage
	}
	o.filter = strings.Join(fs.Args(), " ")
	src, err := o.open(stdin)
	if err != nil {
		printErr(stderr, err)
		return exitFailure
	}
	defer src.Close()
	live := o.iface != ""
	if live && o.user != "" {
		if err := capture.DropPrivileges(o.user); err != nil {
			printErr(stderr, err)
			return exitFailure
		}
	}

	out := newOutput(stdout, o.format)
	// Events go out as they are decided when the input is live or a pipe
	// (tcpdump -w - | tlsresume -r -), so that jq downstream sees them.
	_, regular := capture.InputSize(o.files)
	out.flushEach = live || !regular
	ss := sessions.New(sessions.Config{EmitConn: out.conn, EmitSession: out.session, Timeout: o.sessionTimeout, Max: o.maxSessions})
	tr := flows.NewTracker(flows.Config{SessionTimeout: o.sessionTimeout, FinishedTimeout: o.flowTimeout, MaxFlows: o.maxFlows, Workers: o.workers}, ss)
	var readErr error
	if live {
		readErr = readLive(ctx, src, tr, &o)
	} else {
		prog := newProgress(stderr, stdout, src, out, o.files)
		readErr = readAll(ctx, src, tr, prog, o.count)
		prog.done()
	}
	tr.Close()
	ss.End()
	interrupted := errors.Is(readErr, context.Canceled)
	if interrupted {
		readErr = nil
	}
	st := src.Stats()
	sum := newSummary(tr, ss, st, readErr)
	sum.Interrupted = interrupted
	if live {
		sum.KernelDrops = &st.KernelDrops
		if st.KernelDrops > 0 {
			fmt.Fprintf(stderr, "tlsresume: warning: the kernel dropped %d of %d packets: verdicts may be unknown or missing (a larger buffer or a narrower filter helps)\n",
				st.KernelDrops, st.KernelPackets)
		}
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

// check returns what is wrong with the flags, or "".
func (o *options) check() string {
	switch {
	case o.format != "ndjson" && o.format != "text":
		return fmt.Sprintf("unknown format %q (want ndjson or text)", o.format)
	case o.workers < 1 || o.workers > 256:
		return fmt.Sprintf("--workers %d: want 1 to 256", o.workers)
	case o.iface != "" && len(o.files) > 0:
		return "give -r FILE or -i IFACE, not both"
	case o.iface == "" && len(o.files) == 0:
		return "no input: give -r FILE or -i IFACE"
	case o.maxFlows < 1 || o.maxSessions < 1:
		return "--max-flows and --max-sessions want a positive number"
	case o.count < 0:
		return fmt.Sprintf("-c %d: want a positive count", o.count)
	case o.snaplen < 0:
		return fmt.Sprintf("-s %d: want a positive snap length", o.snaplen)
	case o.iface == "" && (o.duration != 0 || o.user != "" || o.noPromisc || o.snaplen != 0):
		return "--duration, -Z, -p and -s apply to live capture (-i)"
	}
	return ""
}

// open opens the capture files or the interface, with the filter.
func (o *options) open(stdin io.Reader) (capture.Source, error) {
	if o.iface != "" {
		return capture.OpenLive(capture.LiveConfig{Interface: o.iface, Snaplen: o.snaplen, NoPromisc: o.noPromisc, Filter: o.filter})
	}
	src, err := capture.OpenFiles(o.files, stdin)
	if err != nil {
		return nil, err
	}
	f, err := capture.Filtered(src, o.filter)
	if err != nil {
		src.Close()
		return nil, err
	}
	return f, nil
}

// listInterfaces prints what -i takes, as tcpdump -D does.
func listInterfaces(stdout, stderr io.Writer) int {
	ifs, err := capture.Interfaces()
	if err != nil {
		printErr(stderr, err)
		return exitFailure
	}
	for i, itf := range ifs {
		fmt.Fprintf(stdout, "%d.%s\n", i+1, itf)
	}
	return exitOK
}

// readAll feeds every packet of src to the tracker, or the first count.
func readAll(ctx context.Context, src capture.Source, tr *flows.Tracker, prog *progress, count int64) error {
	for n := int64(0); count == 0 || n < count; n++ {
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
		tr.Packet(p.Data, p.CI, p.LinkType, p.Frame)
	}
	return nil
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
