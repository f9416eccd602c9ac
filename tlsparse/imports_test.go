package tlsparse

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps tlsparse pure: the standard library and cryptobyte only, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t, "golang.org/x/crypto/cryptobyte")
}
