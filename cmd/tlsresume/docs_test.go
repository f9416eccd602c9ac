package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// repoRoot is where README.md, tlsresume.1 and contrib/ are.
const repoRoot = "../.."

// flagSet is the command's FlagSet, as run builds it.
func flagSet() *pflag.FlagSet { return newFlagSet(new(options)) }

// TestHelpWidth: every line of --help fits in 80 columns.
func TestHelpWidth(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("--help: exit %d, %s", code, errb.String())
	}
	for i, line := range strings.Split(out.String(), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("--help line %d is %d columns: %q", i+1, n, line)
		}
	}
	// Every flag is listed, each on a line of its own.
	flagSet().VisitAll(func(f *pflag.Flag) {
		if !regexp.MustCompile(`(?m)^  (-., |    )--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(out.String()) {
			t.Errorf("--help does not list --%s", f.Name)
		}
	})
}

// TestManPage renders tlsresume.1 with man(1) and groff: no warnings,
// within 80 columns, and every flag of the FlagSet has its entry.
func TestManPage(t *testing.T) {
	page, err := filepath.Abs(filepath.Join(repoRoot, "tlsresume.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (apt-get install man-db): tlsresume.1 not rendered")
	}
	cmd := exec.Command("man", "--warnings", "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=", "MANPAGER=cat", "PAGER=cat", "LANG=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("man -l tlsresume.1: %v\n%s", err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("man --warnings -l tlsresume.1 warns:\n%s", errb.String())
	}
	if _, err := exec.LookPath("groff"); err == nil {
		g := exec.Command("groff", "-ww", "-z", "-man", "-Tutf8", page)
		if msg, err := g.CombinedOutput(); err != nil || len(msg) > 0 {
			t.Errorf("groff -ww -man: %v\n%s", err, msg)
		}
	}
	// Backspace overstrikes (bold, underline), should man leave them in.
	text := regexp.MustCompile(".\b").ReplaceAllString(out.String(), "")
	for i, line := range strings.Split(text, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("rendered line %d is %d columns: %q", i+1, n, line)
		}
	}
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "OUTPUT", "SIGNALS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"} {
		if !regexp.MustCompile(`(?m)^` + section + `$`).MatchString(text) {
			t.Errorf("no %s section", section)
		}
	}
	// Each flag is the tag of an entry: "-r, --read file" or "--duration
	// duration" at the start of a line.
	flagSet().VisitAll(func(f *pflag.Flag) {
		tag := `--` + regexp.QuoteMeta(f.Name)
		if f.Shorthand != "" {
			tag = `-` + regexp.QuoteMeta(f.Shorthand) + `, ` + tag
		}
		if !regexp.MustCompile(`(?m)^ +` + tag + `( |$)`).MatchString(text) {
			t.Errorf("tlsresume.1 has no entry for %s", strings.ReplaceAll(tag, `\`, ""))
		}
	})
	for _, want := range []string{"GOMEMLIMIT", "tcpdump(8)", "tshark(1)", "SIGHUP", "SIGUSR1", "conn", "session", "summary"} {
		if !strings.Contains(text, want) {
			t.Errorf("tlsresume.1 does not mention %s", want)
		}
	}
	// The exit codes, as the EXIT STATUS entries.
	for _, code := range []string{"0", "1", "2"} {
		if !regexp.MustCompile(`(?m)^       ` + code + `\s`).MatchString(text[strings.Index(text, "EXIT STATUS"):]) {
			t.Errorf("EXIT STATUS has no entry for %s", code)
		}
	}
}

// TestReadmeFlags: the README's flags table names exactly the flags of the
// FlagSet.
func TestReadmeFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The table after "| flag | meaning |".
	_, table, ok := strings.Cut(string(b), "| flag | meaning |\n")
	if !ok {
		t.Fatal("README.md: no flags table (| flag | meaning |)")
	}
	inREADME := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(table))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		for _, m := range regexp.MustCompile("`(--?[a-zA-Z][-a-z]*)").FindAllStringSubmatch(cells[1], -1) {
			inREADME[m[1]] = true
		}
	}
	fs := flagSet()
	fs.VisitAll(func(f *pflag.Flag) {
		if !inREADME["--"+f.Name] && !inREADME["-"+f.Shorthand] {
			t.Errorf("README flags table: no row for --%s", f.Name)
		}
	})
	for name := range inREADME {
		var f *pflag.Flag
		if long, ok := strings.CutPrefix(name, "--"); ok {
			f = fs.Lookup(long)
		} else {
			f = fs.ShorthandLookup(name[1:])
		}
		if f == nil {
			t.Errorf("README flags table: %s is not a flag", name)
		}
	}
}

// TestSystemdUnit checks contrib/tlsresume.service with systemd-analyze
// verify (its binary path pointed at an executable that exists here) and
// the directives a sensor needs; and the logrotate snippet's signal.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(repoRoot, "contrib", "tlsresume.service"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(unit), "\n")
	for _, want := range []string{
		"ExecStart=/usr/local/bin/tlsresume -i eth0 -o /var/log/tlsresume/events.ndjson 'tcp port 443'",
		"DynamicUser=yes",
		"AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
		"CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"LogsDirectory=tlsresume",
		"Restart=on-failure",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("tlsresume.service: no line %q", want)
		}
	}
	rot, err := os.ReadFile(filepath.Join(repoRoot, "contrib", "tlsresume.logrotate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/var/log/tlsresume/events.ndjson {", "postrotate", "systemctl kill -s HUP tlsresume.service", "nocreate"} {
		if !strings.Contains(string(rot), want) {
			t.Errorf("tlsresume.logrotate: no %q", want)
		}
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: tlsresume.service not verified")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tlsresume.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/tlsresume"), []byte(exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	// --man=no: Documentation=man:tlsresume(1) is not installed here.
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
