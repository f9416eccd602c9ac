package quic

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps quic pure: the standard library, cryptobyte and the
// ChaCha20 packages of golang.org/x/crypto, never gopacket (tests may
// import it to read captures).
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"golang.org/x/crypto/cryptobyte":       true,
		"golang.org/x/crypto/chacha20":         true,
		"golang.org/x/crypto/chacha20poly1305": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && !allowed[path] {
				t.Errorf("%s imports %q: quic takes the standard library, cryptobyte and chacha20(poly1305) only", name, path)
			}
		}
	}
}
