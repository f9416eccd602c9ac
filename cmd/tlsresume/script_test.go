package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tlsresume/tlsresume/capture/filter"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// The command as main runs it: signals, memory limit and all.
		"tlsresume": func() { os.Exit(mainCode()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: usage, exit codes,
// and what goes to stdout and to stderr. $PCAPS is testdata/pcaps.
func TestScripts(t *testing.T) {
	pcaps, err := filepath.Abs(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PCAPS", pcaps)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "libpcap" {
				return filter.Backend == "libpcap", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exitcode N CMD ARGS...: run CMD, which must exit with status
			// N; its stdout and stderr are checked by what follows, as
			// after exec.
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exitcode N CMD ARGS...")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					ee, ok := errors.AsType[*exec.ExitError](err)
					if !ok {
						ts.Fatalf("%s: %v", args[1], err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
			// cut SRC DST N: copy the first N bytes of SRC to DST.
			"cut": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: cut SRC DST N")
				}
				b, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				n, err := strconv.Atoi(args[2])
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b[:min(n, len(b))], 0o644))
			},
		},
	})
}
