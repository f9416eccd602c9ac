package tlscrypt

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps tlscrypt pure: the standard library, cryptobyte and chacha20poly1305, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t, "golang.org/x/crypto/cryptobyte", "golang.org/x/crypto/chacha20poly1305")
}
