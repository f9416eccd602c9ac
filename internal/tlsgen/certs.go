package tlsgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// The server certificates are made once per process: an ECDSA P-256 one by default and an RSA
// 2048 one (a bigger server flight) on demand. Both are self-signed and valid from 1970 to 9999,
// so any virtual start time works (crypto/tls drops cached sessions whose certificate expired); clients do not verify them (InsecureSkipVerify).

var (
	ecdsaOnce sync.Once
	ecdsaCert tls.Certificate
	ecdsaErr  error
	rsaOnce   sync.Once
	rsaCert   tls.Certificate
	rsaErr    error
)

func serverCert(useRSA bool) (tls.Certificate, error) {
	if useRSA {
		rsaOnce.Do(func() {
			var k *rsa.PrivateKey
			k, rsaErr = rsa.GenerateKey(rand.Reader, 2048)
			if rsaErr == nil {
				rsaCert, rsaErr = selfSigned(k, &k.PublicKey)
			}
		})
		return rsaCert, rsaErr
	}
	ecdsaOnce.Do(func() {
		var k *ecdsa.PrivateKey
		k, ecdsaErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if ecdsaErr == nil {
			ecdsaCert, ecdsaErr = selfSigned(k, &k.PublicKey)
		}
	})
	return ecdsaCert, ecdsaErr
}

func selfSigned(key crypto.Signer, pub any) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tlsgen test server", Organization: []string{"tlsgen"}},
		NotBefore:             time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"*.example", "*.example.com", "*.example.net", "example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsgen: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsgen: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
