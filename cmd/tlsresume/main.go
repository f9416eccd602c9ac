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
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/capture/filter"
	"github.com/tlsresume/tlsresume/flows"
	"github.com/tlsresume/tlsresume/sessions"
)

// memoryLimit is the soft limit given to the Go runtime: past it the
// garbage collector works harder rather than let the heap double.
const memoryLimit = 192 << 20

func main() {
	os.Exit(mainCode())
}

// mainCode is main without the exit: the process's signals, the memory
// limit, run. The test binary runs it as the tlsresume command.
func mainCode() int {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, the next one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := runWith(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, signal.Notify)
	stop()
	return code
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

With -o FILE, SIGHUP reopens FILE (for logrotate). SIGUSR1 prints the
counters so far on stderr. Exit status: 0 done, 1 a runtime failure (an
unreadable or truncated capture), 2 a usage error.

Examples:
  tlsresume -r capture.pcap | jq -c 'select(.type=="conn")'
  tlsresume -r a.pcapng -r b.pcap.gz --format text
  tlsresume -r capture.pcap 'tcp port 443 or tcp port 8443'
  sudo tlsresume -i eth0 -o events.ndjson 'tcp port 443'
  tcpdump -w - -U port 443 | tlsresume -r -
  tlsresume -r capture.pcap | jq -s 'map(select(.type=="conn" and .rejected))'

Flags:
`

type options struct {
	files          []string
	iface          string
	filterFile     string
	output         string
	write          string
	numeric        bool
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
	report         string
	metrics        string
	sensor         string
	keylogs        []string
	maxServers     int
	version        bool
	help           bool

	// onTick, when set, runs on the capture loop's goroutine once a second
	// in live capture (metrics: the tracker's counters).
	onTick func()

	// args are the words after the flags: the filter expression.
	args []string
	// changed says whether a flag was given on the command line.
	changed func(name string) bool
}

// newFlagSet defines every flag on o, with the defaults of flows.Defaults
// and the sessions package. The man page and README tests iterate it.
func newFlagSet(o *options) *pflag.FlagSet {
	d := flows.Defaults()
	fs := pflag.NewFlagSet("tlsresume", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringArrayVarP(&o.files, "read", "r", nil, "read packets from `FILE` (repeat for several, read in order; - is stdin)")
	fs.StringVarP(&o.iface, "interface", "i", "", "capture live on `IFACE` (\"any\": all; needs CAP_NET_RAW)")
	fs.StringVarP(&o.filterFile, "filter-file", "F", "", "read the filter expression from `FILE` (# starts a comment)")
	fs.StringVarP(&o.output, "output", "o", "", "write events to `FILE`, not stdout (truncated; SIGHUP reopens it)")
	fs.StringVarP(&o.write, "write", "w", "", "write the packets the verdicts rest on to `FILE` as a pcap (- is stdout, with -o)")
	boolFlag(fs, &o.numeric, "numeric", "n", "accepted for tcpdump's sake: names are never resolved")
	fs.IntVarP(&o.snaplen, "snapshot-length", "s", capture.DefaultSnaplen, "live: keep `SNAPLEN` bytes of each packet (default 262144, also for 0)")
	boolFlag(fs, &o.noPromisc, "no-promiscuous-mode", "p", "live: leave the interface out of promiscuous mode")
	fs.Int64VarP(&o.count, "count", "c", 0, "stop after `N` packets (default: every packet)")
	fs.DurationVar(&o.duration, "duration", 0, "live: stop after `DURATION` (30s, 10m; default: no limit)")
	boolFlag(fs, &o.list, "list-interfaces", "D", "list the interfaces -i takes and exit")
	fs.StringVarP(&o.user, "relinquish-privileges", "Z", "", "live: drop privileges to `USER` once the capture is open")
	fs.StringVar(&o.format, "format", "ndjson", "output `FORMAT`: ndjson or text (a report, 80 columns)")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", sessions.DefaultTimeout, "end a session unused for `DURATION` (or for its ticket lifetime hint, when longer)")
	fs.DurationVar(&o.flowTimeout, "flow-timeout", d.FinishedTimeout, "forget a finished connection after `DURATION` without packets")
	fs.IntVar(&o.maxFlows, "max-flows", d.MaxFlows, "track at most `N` TCP connections (oldest evicted first)")
	fs.IntVar(&o.maxSessions, "max-sessions", sessions.DefaultMax, "hold at most `N` sessions (the oldest end first)")
	fs.IntVar(&o.maxServers, "max-servers", sessions.DefaultMaxServers, "keep at most `N` rows in the per-server table (the rest share one)")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "read handshakes in `N` goroutines (default: the number of CPUs; the output does not depend on N)")
	fs.StringVar(&o.report, "report", "", "also write an HTML report to `FILE` (self-contained, readable offline)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on `ADDR` (127.0.0.1:9464) at /metrics")
	fs.StringVar(&o.sensor, "sensor", "", "stamp `NAME` as \"sensor\" on every event")
	fs.StringArrayVar(&o.keylogs, "keylog", nil, "read TLS secrets from the NSS key log `FILE` (repeatable; followed live)")
	boolFlag(fs, &o.version, "version", "", "print the version and exit")
	boolFlag(fs, &o.help, "help", "h", "print this help and exit")
	return fs
}

// helpWidth is the width --help fits in.
const helpWidth = 80

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdin, stdout, stderr, nil)
}

// runWith is run with the process's signals: notify (signal.Notify in
// main, a channel a test feeds in tests, nil for none) subscribes to
// SIGUSR1, and to SIGHUP when -o is given.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, notify notifyFunc) (code int) {
	stderr = &lockedWriter{w: stderr} // the signal handler prints too
	var o options
	fs := newFlagSet(&o)
	usage := func(w io.Writer) {
		fmt.Fprint(w, usageText)
		fmt.Fprint(w, flagUsages(fs, helpWidth))
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "tlsresume: %v\n", err)
		fmt.Fprintln(stderr, "tlsresume: hint: tlsresume --help shows the usage")
		return exitUsage
	}
	o.args, o.changed = fs.Args(), fs.Changed
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
	if err := o.check(); err != nil {
		printUsageErr(stderr, err)
		return exitUsage
	}
	var err error
	if o.filter, err = o.filterExpr(); err != nil {
		printErr(stderr, err)
		return exitFailure
	}
	sigs := subscribe(notify, o.output != "")
	pw, stdin, err := openWrite(&o, stdin, stdout) // -w (writepcap.go)
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		printUsageErr(stderr, ue)
		return exitUsage
	} else if err != nil {
		printErr(stderr, err)
		return exitFailure
	}
	defer pw.close(&code, stderr)
	var keys *keyStore
	if len(o.keylogs) > 0 || o.iface == "" {
		// The key logs, and the pcapng inputs' secrets blocks.
		if keys, err = openKeys(o.keylogs, o.iface != ""); err != nil {
			printErr(stderr, err)
			return exitFailure
		}
	}
	src, err := o.open(stdin, keys)
	if err != nil {
		printErr(stderr, err)
		if fe := (*filter.Error)(nil); errors.As(err, &fe) {
			o.filterHint(stderr, fe)
			return exitUsage
		}
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
	stats := src.Stats // live sources: safe from any goroutine
	if !live {
		c := &countedSource{Source: src}
		src, stats = c, c.stats
	}
	var of *outFile
	if o.output != "" {
		if of, err = createOutFile(o.output, stderr); err != nil {
			printErr(stderr, err)
			return exitFailure
		}
		defer func() {
			if err := of.Close(); err != nil && code == exitOK {
				fmt.Fprintf(stderr, "tlsresume: writing output: %v\n", err)
				code = exitFailure
			}
		}()
		stdout = of
	}

	out := newOutput(stdout, o.format)
	// Events go out as they are decided when the input is live or a pipe
	// (tcpdump -w - | tlsresume -r -), so that jq downstream sees them.
	_, regular := capture.InputSize(o.files)
	out.flushEach = live || !regular
	defer watchSignals(sigs, of, stats, &out.tls, live, stderr)()
	ss := sessions.New(sessions.Config{EmitConn: out.conn, EmitSession: out.session, Timeout: o.sessionTimeout, Max: o.maxSessions, MaxServers: o.maxServers, Sensor: o.sensor})
	fcfg := flows.Config{SessionTimeout: o.sessionTimeout, FinishedTimeout: o.flowTimeout, MaxFlows: o.maxFlows, Workers: o.workers, Keep: pw.keepFunc()}
	if keys != nil {
		fcfg.Keys = keys
		defer keys.warn(stderr)
	}
	tr := flows.NewTracker(fcfg, ss)
	// --report keeps the largest sessions as --format text does; --metrics
	// counts each event as it goes out (metrics.go).
	out.keepLargest = o.format == "text" || o.report != ""
	if o.metrics != "" {
		m, err := serveMetrics(o.metrics, o.sensor, ss, stats, live, stderr)
		if err != nil {
			printErr(stderr, err)
			return exitFailure
		}
		defer m.close()
		out.metrics, o.onTick = m, func() { m.front(tr.Counters()) }
	}
	var readErr error
	if live {
		if keys != nil && len(keys.followers) > 0 {
			metricsTick := o.onTick
			o.onTick = func() {
				keys.poll(stderr)
				if metricsTick != nil {
					metricsTick()
				}
			}
		}
		readErr = readLive(ctx, src.(capture.Live), tr, &o)
	} else {
		prog := newProgress(stderr, stdout, src, out, o.files)
		readErr = readAll(ctx, src, tr, prog, o.count)
		prog.done()
	}
	tr.Close()
	if out.metrics != nil {
		out.metrics.front(tr.Counters())
	}
	ss.End()
	if o.write != "" && o.write != "-" && keys != nil && len(keys.dsb) > 0 {
		// The secrets the input carried in pcapng blocks go beside the
		// -w file, as a key log (--keylog FILE.keylog reads them back).
		if err := os.WriteFile(o.write+".keylog", keys.dsb, 0o600); err != nil {
			fmt.Fprintf(stderr, "tlsresume: warning: %v\n", err)
		}
	}
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
	sum.Sensor = o.sensor
	out.summary(sum)
	if o.report != "" {
		if err := writeReport(o.report, sum, ss, out.largest); err != nil {
			fmt.Fprintf(stderr, "tlsresume: --report: %v\n", err)
			return exitFailure
		}
	}
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

// usageError is a command line that cannot work: exit 2.
type usageError struct {
	msg  string
	hint string // "" for the pointer to --help
}

func (e *usageError) Error() string { return e.msg }

func usagef(hint, format string, args ...any) *usageError {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: hint}
}

// printUsageErr prints a usage error and its hint on stderr.
func printUsageErr(stderr io.Writer, err *usageError) {
	fmt.Fprintf(stderr, "tlsresume: %s\n", err.msg)
	hint := err.hint
	if hint == "" {
		hint = "tlsresume --help shows the usage"
	}
	fmt.Fprintf(stderr, "tlsresume: hint: %s\n", hint)
}

// check returns what is wrong with the flags, or nil.
func (o *options) check() *usageError {
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	leaveOut := func(flag string) string { return "leave " + flag + " out for the default" }
	switch {
	case o.format != "ndjson" && o.format != "text":
		return usagef("", "unknown format %q (want ndjson or text)", o.format)
	case o.workers < 1 || o.workers > 256:
		return usagef("", "--workers %d: want 1 to 256", o.workers)
	case o.iface != "" && len(o.files) > 0:
		return usagef("", "give -r FILE or -i IFACE, not both")
	case o.iface == "" && len(o.files) == 0:
		return usagef("", "no input: give -r FILE or -i IFACE")
	case changed("count") && o.count <= 0:
		return usagef("leave -c out to read every packet", "-c %d: want a positive count", o.count)
	case o.sessionTimeout <= 0:
		return usagef(leaveOut("--session-timeout"), "--session-timeout %v: want a positive duration", o.sessionTimeout)
	case o.flowTimeout <= 0:
		return usagef(leaveOut("--flow-timeout"), "--flow-timeout %v: want a positive duration", o.flowTimeout)
	case changed("duration") && o.duration <= 0:
		return usagef("leave --duration out to capture until interrupted", "--duration %v: want a positive duration", o.duration)
	case o.maxFlows < 1:
		return usagef(leaveOut("--max-flows"), "--max-flows %d: want a positive number", o.maxFlows)
	case o.maxSessions < 1:
		return usagef(leaveOut("--max-sessions"), "--max-sessions %d: want a positive number", o.maxSessions)
	case o.maxServers < 1:
		return usagef(leaveOut("--max-servers"), "--max-servers %d: want a positive number", o.maxServers)
	case o.snaplen < 0:
		return usagef("", "-s %d: want a positive snap length (0 for the default)", o.snaplen)
	case o.iface == "" && (changed("duration") || changed("relinquish-privileges") || changed("no-promiscuous-mode") || changed("snapshot-length")):
		return usagef("", "--duration, -Z, -p and -s apply to live capture (-i)")
	case o.filterFile != "" && len(o.args) > 0:
		return usagef("put the whole expression in the -F file", "give the filter with -F FILE or as trailing words, not both (got %q)", strings.Join(o.args, " "))
	case changed("output") && o.output == "":
		return usagef("", "-o wants a file name")
	case changed("report") && o.report == "", changed("metrics") && o.metrics == "", changed("sensor") && o.sensor == "":
		return usagef("", "--report, --metrics and --sensor want a value")
	case o.report != "" && o.report == o.output:
		return usagef("", "--report %s: it is also the -o file", o.report)
	}
	if o.output != "" && o.output != "-" {
		if out, err := os.Stat(o.output); err == nil {
			for _, f := range o.files {
				if in, err := os.Stat(f); err == nil && os.SameFile(in, out) {
					return usagef("write the events to another file", "-o %s: it is also an input (-r %s)", o.output, f)
				}
			}
		}
	}
	return nil
}

// filterExpr returns the filter expression: the trailing words, or the
// contents of the -F file with comments (from # to the end of the line,
// as tcpdump reads it) dropped and lines joined.
func (o *options) filterExpr() (string, error) {
	if o.filterFile == "" {
		return strings.Join(o.args, " "), nil
	}
	b, err := os.ReadFile(o.filterFile)
	if err != nil {
		return "", fmt.Errorf("-F %s: %w", o.filterFile, pathErr(err))
	}
	var words []string
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "#")
		words = append(words, strings.Fields(line)...)
	}
	return strings.Join(words, " "), nil
}

// filterHint prints, after a filter that does not compile, what the user
// probably meant: a trailing word that names a file was meant for -r (a
// shell glob, "-r *.pcap"), an expression beyond the pure-Go compiler
// needs the libpcap build.
func (o *options) filterHint(stderr io.Writer, fe *filter.Error) {
	var files []string
	for _, w := range o.args {
		if o.filterFile != "" {
			break
		}
		if fi, err := os.Stat(w); err == nil && fi.Mode().IsRegular() {
			files = append(files, w)
		}
	}
	if len(files) == 0 {
		if errors.Is(fe, filter.ErrUnsupported) {
			fmt.Fprintln(stderr, "tlsresume: hint: the libpcap build compiles it: go build -tags libpcap ./cmd/tlsresume")
		}
		return
	}
	var eg strings.Builder
	for _, f := range append(slices.Clone(o.files), files...) {
		if eg.Len() > 0 {
			eg.WriteByte(' ')
		}
		eg.WriteString("-r " + f)
	}
	fmt.Fprintf(stderr, "tlsresume: hint: %q is a file: repeat -r for each file (%s)\n", files[0], eg.String())
}

// open opens the capture files or the interface, with the filter.
func (o *options) open(stdin io.Reader, keys *keyStore) (capture.Source, error) {
	if o.iface != "" {
		return capture.OpenLive(capture.LiveConfig{Interface: o.iface, Snaplen: o.snaplen, NoPromisc: o.noPromisc, Filter: o.filter})
	}
	src, err := capture.OpenFilesWith(o.files, stdin, capture.Options{Secrets: keys.secrets})
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
