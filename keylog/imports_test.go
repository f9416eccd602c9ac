package keylog

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps keylog pure: the standard library only, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t)
}
