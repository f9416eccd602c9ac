// Command tlsgen writes a packet capture of real crypto/tls connections, made in-process from a
// named scenario, and the truth about each connection as TSV.
//
//	tlsgen --scenario NAME [--seed N] -o out.pcap [--truth out.tsv] [--pcapng]
//	tlsgen --bench [--size MB] [--seed N] -o big.pcap [--truth big.tsv]
//	tlsgen --list
//
// --bench writes the benchmark capture (see tlsgen.BenchSteps): about --size MB (10^6 bytes)
// of TLS 1.2 and 1.3 connections, about 40% of them resumed, plain HTTP and DNS, 15% over
// IPv6, with a little reordering and retransmission. Capture and truth are written as they are
// made, so memory does not grow with the size; a summary goes to stderr at the end.
//
// Single-dash long flags (-scenario) are accepted too. "-" as a file name means stdout.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("tlsgen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	var (
		scenario   = fs.String("scenario", "", "scenario `NAME` (see --list)")
		bench      = fs.Bool("bench", false, "write the benchmark capture instead of a scenario")
		size       = fs.Float64("size", 1000, "--bench: size of the capture in `MB` (10^6 bytes)")
		list       = fs.BoolP("list", "l", false, "list the scenarios and exit")
		seed       = fs.Int64("seed", 1, "seed for everything the generator chooses")
		out        = fs.StringP("output", "o", "", "write the capture to `FILE` (- for stdout)")
		truth      = fs.StringP("truth", "t", "", "write the truth as TSV to `FILE` (- for stdout)")
		pcapng     = fs.Bool("pcapng", false, "write pcapng instead of pcap")
		start      = fs.String("start", "", "virtual `TIME` of the first packet, RFC 3339 (default "+tlsgen.DefaultStart.Format(time.RFC3339)+")")
		rtt        = fs.Duration("rtt", 0, "round-trip time (default 20ms)")
		mss        = fs.Int("mss", 0, "TCP MSS (default 1460 over IPv4, 1440 over IPv6)")
		response   = fs.Int("response", 0, "size of each server response in bytes (default 3000)")
		loss       = fs.Float64("loss", 0, "damage: probability that a packet is missing from the capture")
		reorder    = fs.Float64("reorder", 0, "damage: probability that a data segment is captured late")
		retransmit = fs.Float64("retransmit", 0, "damage: probability that a data segment is captured twice")
		overlap    = fs.Float64("overlap", 0, "damage: probability that a data segment is retransmitted with the end of the one before")
		oneByte    = fs.Bool("one-byte", false, "damage: one byte of payload per TCP segment")
		snaplen    = fs.Int("snaplen", 0, "damage: cut captured packets to `N` bytes")
		skip       = fs.Int("skip", 0, "damage: leave the first `N` packets out")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tlsgen --scenario NAME [flags] -o FILE [--truth FILE]\n"+
			"       tlsgen --bench [--size MB] [flags] -o FILE [--truth FILE]\n       tlsgen --list\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\n--bench uses light damage unless a damage flag is given: --reorder %g --retransmit %g --overlap %g\n",
			tlsgen.BenchDamage.Reorder, tlsgen.BenchDamage.Retransmit, tlsgen.BenchDamage.Overlap)
	}
	if err := fs.Parse(longFlags(fs, args)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "tlsgen: %v\ntlsgen: hint: see tlsgen --help\n", err)
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tlsgen: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	scenarios := tlsgen.Scenarios()
	if *list {
		for _, n := range tlsgen.ScenarioNames() {
			fmt.Fprintf(stdout, "%s\t%s\n", n, scenarios[n].Description)
		}
		return 0
	}
	var sc tlsgen.Scenario
	switch {
	case *bench && *scenario != "":
		return usage("--bench and --scenario exclude each other")
	case *bench:
		if *size <= 0 || *size > 1e7 {
			return usage("--size %v: want more than 0 and at most 10^7 MB", *size)
		}
	case *scenario == "":
		return usage("no --scenario (see --list)")
	default:
		var ok bool
		if sc, ok = scenarios[*scenario]; !ok {
			return usage("no scenario %q (see --list)", *scenario)
		}
	}
	if *out == "" {
		return usage("no output file (-o FILE)")
	}
	if *out == "-" && *truth == "-" {
		return usage("capture and truth cannot both go to stdout")
	}
	opt := tlsgen.Options{
		Seed: *seed, RTT: *rtt, MSS: *mss, Response: *response, Pcapng: *pcapng,
		Damage: tlsgen.Damage{Loss: *loss, Reorder: *reorder, Retransmit: *retransmit, Overlap: *overlap,
			OneByte: *oneByte, Snaplen: *snaplen, SkipFirst: *skip},
	}
	if *bench {
		damaged := false
		for _, name := range []string{"loss", "reorder", "retransmit", "overlap", "one-byte", "snaplen", "skip"} {
			damaged = damaged || fs.Changed(name)
		}
		if !damaged {
			opt.Damage = tlsgen.BenchDamage
		}
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			return usage("bad --start: %v", err)
		}
		opt.Start = t
	}
	if *mss < 0 || *response < 0 || *snaplen < 0 || *skip < 0 || *rtt < 0 {
		return usage("negative value")
	}
	for _, p := range []float64{*loss, *reorder, *retransmit, *overlap} {
		if p < 0 || p > 1 {
			return usage("probability %v out of [0, 1]", p)
		}
	}

	fail := func(err error) int {
		fmt.Fprintf(stderr, "tlsgen: %v\n", strings.TrimPrefix(err.Error(), "tlsgen: "))
		return 1
	}
	if *bench {
		return runBench(int64(*size*1e6), opt, *out, *truth, stdout, stderr)
	}
	var conns []tlsgen.Conn
	err := writeTo(*out, stdout, func(w io.Writer) error {
		var err error
		conns, err = tlsgen.Generate(w, sc, opt)
		return err
	})
	if err != nil {
		return fail(err)
	}
	if *truth != "" {
		if err := writeTo(*truth, stdout, func(w io.Writer) error { return tlsgen.WriteTruth(w, conns) }); err != nil {
			return fail(err)
		}
	}
	return 0
}

// runBench writes the benchmark capture and its truth as they are made, and a summary to
// stderr.
func runBench(size int64, opt tlsgen.Options, out, truth string, stdout, stderr io.Writer) int {
	start := time.Now()
	var st tlsgen.Stats
	err := writeTo(out, stdout, func(w io.Writer) error {
		gen := func(tw *tlsgen.TruthWriter) error {
			var err error
			st, err = tlsgen.GenerateBench(w, size, opt, func(c tlsgen.Conn) error {
				if tw == nil {
					return nil
				}
				return tw.Write(&c)
			})
			if err == nil && tw != nil {
				err = tw.Flush()
			}
			return err
		}
		if truth == "" {
			return gen(nil)
		}
		return writeTo(truth, stdout, func(tw io.Writer) error { return gen(tlsgen.NewTruthWriter(tw)) })
	})
	if err != nil {
		fmt.Fprintf(stderr, "tlsgen: %v\n", strings.TrimPrefix(err.Error(), "tlsgen: "))
		return 1
	}
	d := time.Since(start)
	pct := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return 100 * float64(n) / float64(of)
	}
	fmt.Fprintf(stderr, "tlsgen: bench: %.1f MB, %d packets in %.1fs (%.0f MB/s); TLS %d (TLS 1.2 %d, TLS 1.3 %d), "+
		"resumed %d (%.1f%%: ticket %d, psk %d), rejected %d; plain TCP %d; UDP exchanges %d\n",
		float64(st.Bytes)/1e6, st.Packets, d.Seconds(), float64(st.Bytes)/1e6/d.Seconds(), st.TLS, st.TLS12, st.TLS13,
		st.Resumed, pct(st.Resumed, st.TLS), st.Ticket, st.PSK, st.Rejected, st.PlainTCP, st.UDP)
	return 0
}

// writeTo calls write with the named file (created, and removed again on failure) or stdout.
func writeTo(name string, stdout io.Writer, write func(io.Writer) error) error {
	if name == "-" {
		return write(stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// longFlags rewrites -name and -name=value into --name for the long flags of fs, so that
// Go-style single-dash flags work alongside pflag's; arguments after "--" are left alone.
func longFlags(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && fs.Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}
