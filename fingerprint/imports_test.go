package fingerprint

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps fingerprint pure: the standard library and tlsparse, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t, "github.com/tlsresume/tlsresume/tlsparse")
}
