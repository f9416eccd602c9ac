package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/keylog"
)

// keyStore is the key log the pipeline reads secrets from: the --keylog
// files, and the Decryption Secrets Blocks of pcapng inputs as they are
// read. Lookups come from the worker goroutines, additions from the
// reading goroutine: a read-write lock guards the store.
type keyStore struct {
	mu        sync.RWMutex
	store     *keylog.Store
	followers []*keylog.Follower
	warned    bool
	// dsb is the key log text of the inputs' secrets blocks, for -w to
	// write beside its capture (a pcap has no such block).
	dsb  []byte
	held atomic.Bool // the store holds a secret: set under mu, read without it
}

// maxDSBKept bounds the secrets blocks' text kept for -w.
const maxDSBKept = 16 << 20

// Held implements flows' keysHeld: the front asks it for every UDP
// datagram that may be a QUIC short header.
func (k *keyStore) Held() bool { return k.held.Load() }

// Lookup implements flows.Keys.
func (k *keyStore) Lookup(random [32]byte) (keylog.Secrets, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.store.Lookup(random)
}

// openKeys reads the --keylog files; live, each is followed as it grows.
func openKeys(files []string, live bool) (*keyStore, error) {
	k := &keyStore{store: keylog.NewStore(keylog.Options{})}
	for _, name := range files {
		if live {
			f := keylog.NewFollower(name, k.store)
			if _, err := f.Poll(); err != nil {
				return nil, fmt.Errorf("--keylog %s: %w", name, err)
			}
			k.held.Store(k.store.Len() > 0)
			k.followers = append(k.followers, f)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--keylog: %w", err)
		}
		_, err = k.store.ReadFrom(f)
		f.Close()
		k.held.Store(k.store.Len() > 0)
		if err != nil {
			return nil, fmt.Errorf("--keylog %s: %w", name, err)
		}
	}
	return k, nil
}

// secrets takes a Decryption Secrets Block of a pcapng input.
func (k *keyStore) secrets(s capture.Secrets) {
	if s.Type != capture.SecretsTLSKeyLog {
		return
	}
	k.mu.Lock()
	k.store.AddDSB(uint32(s.Type), s.Data)
	if len(k.dsb)+len(s.Data) <= maxDSBKept {
		k.dsb = append(k.dsb, s.Data...)
		if len(s.Data) > 0 && s.Data[len(s.Data)-1] != '\n' {
			k.dsb = append(k.dsb, '\n')
		}
	}
	k.held.Store(k.store.Len() > 0)
	k.mu.Unlock()
}

// poll reads what the followed key logs gained (live capture: a browser
// appends while the capture runs).
func (k *keyStore) poll(stderr io.Writer) {
	for _, f := range k.followers {
		k.mu.Lock()
		_, err := f.Poll()
		k.held.Store(k.store.Len() > 0)
		k.mu.Unlock()
		if err != nil && !k.warned {
			fmt.Fprintf(stderr, "tlsresume: warning: key log: %v\n", err)
			k.warned = true
		}
	}
}

// warn prints one warning for malformed key log lines, with the first
// one's number.
func (k *keyStore) warn(stderr io.Writer) {
	k.mu.RLock()
	st := k.store.Stats()
	k.mu.RUnlock()
	if st.Malformed > 0 {
		fmt.Fprintf(stderr, "tlsresume: warning: key log: %d malformed lines skipped (the first is line %d)\n",
			st.Malformed, st.FirstMalformedLine)
	}
}
