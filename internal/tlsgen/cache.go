package tlsgen

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"sync"
	"time"
)

// sessionCache is a client session cache that knows virtual time. Connections run one after
// the other in the order of their SYN, but overlap on the virtual clock; so an entry put by a
// connection that is still "in flight" when a later one starts must not be visible to it. Each
// entry carries the virtual time of its Put, and a Get at time t sees the newest entry put at
// or before t. Put(key, nil) (crypto/tls deleting a session) is an entry too.
type sessionCache struct {
	mu      sync.Mutex
	entries map[string][]cacheEntry
	n       int
}

type cacheEntry struct {
	at   time.Time
	n    int // order of Put, breaks ties on equal times
	cs   *tls.ClientSessionState
	from *connRec // the connection that received this session
}

func newSessionCache() *sessionCache {
	return &sessionCache{entries: make(map[string][]cacheEntry)}
}

func (c *sessionCache) get(key string, at time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best cacheEntry
	found := false
	list := c.entries[key]
	for _, e := range list {
		if e.at.After(at) {
			continue
		}
		if !found || newer(e, best) {
			best, found = e, true
		}
	}
	// Connections run in the order of their start, so later Gets are at later times: an
	// entry older than the one just found is never seen again.
	if found {
		kept := list[:0]
		for _, e := range list {
			if e.at.After(at) || !newer(best, e) {
				kept = append(kept, e)
			}
		}
		clear(list[len(kept):])
		c.entries[key] = kept
	}
	return best, found && best.cs != nil
}

func newer(a, b cacheEntry) bool {
	return a.at.After(b.at) || (a.at.Equal(b.at) && a.n > b.n)
}

func (c *sessionCache) put(key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	e.n = c.n
	c.entries[key] = append(c.entries[key], e)
}

// cacheView is the tls.ClientSessionCache of one connection: it reads and writes the shared
// sessionCache at the client's virtual time and records what happened for the truth.
type cacheView struct {
	cache *sessionCache
	pipe  *pipe
	rec   *connRec
}

var _ tls.ClientSessionCache = (*cacheView)(nil)

func (v *cacheView) Get(key string) (*tls.ClientSessionState, bool) {
	e, ok := v.cache.get(key, v.pipe.now(sideClient))
	if !ok {
		return nil, false
	}
	v.rec.gotSession = e.from
	v.rec.gotTicket = ticketDigest(e.cs)
	return e.cs, true
}

func (v *cacheView) Put(key string, cs *tls.ClientSessionState) {
	v.cache.put(key, cacheEntry{at: v.pipe.now(sideClient), cs: cs, from: v.rec})
	if cs != nil {
		if d := ticketDigest(cs); d != "" {
			v.rec.issued = append(v.rec.issued, d)
		}
	}
}

// ticketDigest is the docs/design.md digest (first 16 bytes of SHA-256, hex) of the ticket, or of
// the PSK identity in TLS 1.3, that the client would send for this session.
func ticketDigest(cs *tls.ClientSessionState) string {
	if cs == nil {
		return ""
	}
	ticket, _, err := cs.ResumptionState()
	if err != nil || len(ticket) == 0 {
		return ""
	}
	return digest(ticket)
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
