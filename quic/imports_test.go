package quic

import (
	"testing"

	"github.com/tlsresume/tlsresume/internal/importcheck"
)

// TestImports keeps quic pure: the standard library, cryptobyte, the ChaCha20 packages of golang.org/x/crypto and tlscrypt, never gopacket (its tests may read
// captures with it).
func TestImports(t *testing.T) {
	importcheck.Only(t, "golang.org/x/crypto/cryptobyte", "golang.org/x/crypto/chacha20", "golang.org/x/crypto/chacha20poly1305",
		"github.com/tlsresume/tlsresume/tlscrypt")
}
