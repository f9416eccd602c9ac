package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	pcap, tsv := filepath.Join(dir, "x.pcap"), filepath.Join(dir, "x.tsv")
	bpcap, btsv := filepath.Join(dir, "b.pcap"), filepath.Join(dir, "b.tsv")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"list", []string{"--list"}, 0, "tls12-tickets\t", ""},
		{"list-go-style", []string{"-list"}, 0, "mixed\t", ""},
		{"help", []string{"--help"}, 0, "", "usage: tlsgen"},
		{"no-scenario", []string{"-o", pcap}, 2, "", "tlsgen: no --scenario"},
		{"unknown", []string{"--scenario", "nope", "-o", pcap}, 2, "", `no scenario "nope"`},
		{"no-output", []string{"--scenario", "hrr"}, 2, "", "no output file"},
		{"bad-flag", []string{"--bogus"}, 2, "", "unknown flag"},
		{"both-stdout", []string{"--scenario", "hrr", "-o", "-", "--truth", "-"}, 2, "", "both"},
		{"bad-prob", []string{"--scenario", "hrr", "-o", pcap, "--loss", "2"}, 2, "", "out of"},
		{"generate", []string{"-scenario", "tls12-tickets", "-seed", "3", "-o", pcap, "-truth", tsv}, 0, "", ""},
		{"truth-stdout", []string{"--scenario", "hrr", "-o", pcap, "--truth", "-", "--pcapng"}, 0, "id\tflow\t", ""},
		{"bench-and-scenario", []string{"--bench", "--scenario", "hrr", "-o", pcap}, 2, "", "exclude"},
		{"bench-size", []string{"--bench", "--size", "0", "-o", pcap}, 2, "", "--size 0"},
		{"bench", []string{"--bench", "--size", "2", "--seed", "3", "-o", bpcap, "--truth", btsv}, 0, "", "tlsgen: bench: "},
		{"bench-no-damage", []string{"--bench", "--size", "1", "--reorder", "0", "-o", "-"}, 0, "\xd4\xc3\xb2\xa1", "tlsgen: bench: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) || (tc.stderr == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
	f, err := os.Open(tsv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conns, err := tlsgen.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 4 || conns[3].Method != "ticket" {
		t.Errorf("truth: %+v", conns)
	}
	if fi, err := os.Stat(pcap); err != nil || fi.Size() < 1000 {
		t.Errorf("pcap: %v %v", fi, err)
	}

	// The bench truth is streamed to its file, and read back whole.
	bf, err := os.Open(btsv)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	bconns, err := tlsgen.ReadTruth(bf)
	if err != nil {
		t.Fatal(err)
	}
	if len(bconns) < 10 || bconns[len(bconns)-1].ID != len(bconns) {
		t.Errorf("bench truth: %d conns", len(bconns))
	}
	if fi, err := os.Stat(bpcap); err != nil || fi.Size() < 1e6 || fi.Size() > 4e6 {
		t.Errorf("bench pcap: %v %v", fi, err)
	}
}
