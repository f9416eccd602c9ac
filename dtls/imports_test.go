package dtls

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps dtls pure: the standard library, cryptobyte and tlsparse, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t, "golang.org/x/crypto/cryptobyte", "github.com/tlsresume/tlsresume/tlsparse")
}
