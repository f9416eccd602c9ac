package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsresume/tlsresume/internal/tlsgen"
)

// TestWorkersSameOutput checks that the output with 4 workers is byte for
// byte the output with 1, on the committed captures, the corpus and
// generated traffic.
func TestWorkersSameOutput(t *testing.T) {
	paths := goldenCaptures(t)
	err := filepath.WalkDir(filepath.Join(pcapDir, "corpus"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".pcap" || ext == ".pcapng" || ext == ".cap") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mixed", "concurrent"} {
		p, _ := generate(t, name, tlsgen.Options{Seed: 3})
		paths = append(paths, p)
	}
	for _, p := range paths {
		one, _, code1 := runTool(t, "-r", p, "--workers", "1")
		four, _, code4 := runTool(t, "-r", p, "--workers", "4")
		if code1 != code4 || one != four {
			t.Errorf("%s: --workers 4 differs from --workers 1 (exit %d, %d)", p, code1, code4)
		}
		if !strings.Contains(one, `"type":"summary"`) {
			t.Errorf("%s: no summary", p)
		}
	}
	if len(paths) < 50 {
		t.Errorf("only %d captures compared", len(paths))
	}
}
