package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScriptsPermissions runs the scripts in testdata/script/perm, which
// need the condition [unreadable]: a file with mode 000 cannot be read here
// (false for root, who reads it anyway). They are kept apart from
// testdata/script because TestScripts knows no such condition.
func TestScriptsPermissions(t *testing.T) {
	pcaps, err := filepath.Abs(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script/perm",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PCAPS", pcaps)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "unreadable":
				return modeZeroDeniesRead(t), nil
			}
			return false, os.ErrNotExist
		},
	})
}

// modeZeroDeniesRead reports whether a file with mode 000 fails to open.
func modeZeroDeniesRead(t *testing.T) bool {
	p := filepath.Join(t.TempDir(), "locked")
	if err := os.WriteFile(p, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		return true
	}
	f.Close()
	return false
}
