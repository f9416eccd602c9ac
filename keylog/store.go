package keylog

// DefaultMaxEntries is the number of client randoms a Store keeps when
// Options.MaxEntries is zero.
const DefaultMaxEntries = 1 << 20

// BytesPerEntry bounds the heap cost of one client random holding one
// 48-byte secret, the cost of a flood of connections the capture never saw:
// the index map slot (32-byte key, 4-byte slot number) and its share of the
// table, the slot (32-byte client random, 40-byte Secrets) and the
// secret's own allocation. TestFloodBoundedMemory measured 277 bytes (go1.26,
// amd64) and fails above this bound. An entry holding the five secrets of a
// TLS 1.3 connection costs about 130 bytes more. At DefaultMaxEntries a
// single-secret flood stays under about 300 MB.
const BytesPerEntry = 300

// Options configure a Store. The zero value is usable.
type Options struct {
	// MaxEntries bounds the client randoms kept; at the bound the oldest
	// (first seen) is evicted. Zero means DefaultMaxEntries.
	MaxEntries int
}

// Secrets is what a Store knows about one client random. It is a value
// and immutable: adding a secret later builds a new one.
type Secrets struct {
	lens [numLabels]uint8 // secret length per label, 0 when absent
	buf  []byte           // the present secrets, in Label order
}

// Get returns the secret for l and whether it is known. The slice must
// not be modified.
func (s Secrets) Get(l Label) ([]byte, bool) {
	if l >= numLabels || s.lens[l] == 0 {
		return nil, false
	}
	off := 0
	for i := Label(0); i < l; i++ {
		off += int(s.lens[i])
	}
	n := int(s.lens[l])
	return s.buf[off : off+n : off+n], true
}

// Has reports whether the secret for l is known.
func (s Secrets) Has(l Label) bool { return l < numLabels && s.lens[l] != 0 }

// Count returns how many of the labels are known.
func (s Secrets) Count() int {
	n := 0
	for _, v := range s.lens {
		if v != 0 {
			n++
		}
	}
	return n
}

// with returns a copy of s holding e's secret, and whether it replaced one.
func (s Secrets) with(e *Entry) (Secrets, bool) {
	var out Secrets
	out.lens = s.lens
	replaced := out.lens[e.Label] != 0
	out.lens[e.Label] = uint8(e.SecretLen)
	total := 0
	for _, v := range out.lens {
		total += int(v)
	}
	out.buf = make([]byte, 0, total)
	for l := Label(0); l < numLabels; l++ {
		if l == e.Label {
			out.buf = append(out.buf, e.SecretBytes()...)
		} else if old, ok := s.Get(l); ok {
			out.buf = append(out.buf, old...)
		}
	}
	return out, replaced
}

// Stats counts what a Store has read. Counters only grow.
type Stats struct {
	Lines     int64            // lines read, blank and comment lines included
	Added     [NumLabels]int64 // lines kept, per Label
	Replaced  int64            // kept lines that overwrote a secret already held
	Unknown   int64            // well-formed lines with a label not kept
	Malformed int64            // lines skipped as malformed
	// FirstMalformedLine is the 1-based number of the first malformed
	// line within the input it came from (one ReadFrom call, one DSB, or
	// a Follower's file since its last restart); 0 when none.
	FirstMalformedLine int64
	Evicted            int64 // client randoms dropped at the MaxEntries bound
	DSBSkipped         int64 // Decryption Secrets Blocks of another type
}

// Store holds the secrets of a key log by client random, bounded to
// MaxEntries client randoms with oldest-first eviction. It is not safe for
// concurrent use.
type Store struct {
	max   int
	idx   map[[32]byte]uint32 // client random → slot
	slots []slot              // in insertion order, circular once full
	head  int                 // the oldest slot once len(slots) == max
	stats Stats
}

// slot is one entry; the slots double as the eviction order.
type slot struct {
	clientRandom [32]byte
	secrets      Secrets
}

// NewStore returns an empty Store.
func NewStore(opts Options) *Store {
	max := opts.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	return &Store{max: max, idx: make(map[[32]byte]uint32)}
}

// Len returns the number of client randoms held.
func (s *Store) Len() int { return len(s.idx) }

// Stats returns the counters so far.
func (s *Store) Stats() Stats { return s.stats }

// Lookup returns the secrets known for a client random.
func (s *Store) Lookup(clientRandom [32]byte) (Secrets, bool) {
	i, ok := s.idx[clientRandom]
	if !ok {
		return Secrets{}, false
	}
	return s.slots[i].secrets, true
}

// Add keeps e's secret, replacing one already held for the same label and
// client random. A new client random at the bound evicts the oldest.
func (s *Store) Add(e *Entry) {
	if e.Label == LabelUnknown || e.Label >= numLabels || !validSecretLen(e.Label, e.SecretLen) {
		s.stats.Malformed++
		return
	}
	s.stats.Added[e.Label]++
	if i, ok := s.idx[e.ClientRandom]; ok {
		sec, replaced := s.slots[i].secrets.with(e)
		if replaced {
			s.stats.Replaced++
		}
		s.slots[i].secrets = sec
		return
	}
	sec, _ := Secrets{}.with(e)
	if len(s.slots) < s.max {
		s.idx[e.ClientRandom] = uint32(len(s.slots))
		s.slots = append(s.slots, slot{e.ClientRandom, sec})
		return
	}
	old := &s.slots[s.head]
	delete(s.idx, old.clientRandom)
	s.stats.Evicted++
	*old = slot{e.ClientRandom, sec}
	s.idx[e.ClientRandom] = uint32(s.head)
	s.head++
	if s.head == s.max {
		s.head = 0
	}
}
