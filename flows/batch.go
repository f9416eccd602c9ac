package flows

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Batches: how many items and bytes a hand-off carries at most.
const (
	batchItems = 512
	batchBytes = 512 << 10
)

// batch is a hand-off from the front to a worker. The front fills it; once
// sent, the worker owns it (items and the packet bytes in data) until it
// returns it through the free list.
type batch struct {
	items []item
	data  []byte // the packets' bytes, back to back
	mark  uint64 // every item up to this seq has been handed out
}

// itemKind says what an item asks of a worker.
type itemKind uint8

const (
	itemPacket itemKind = iota // a packet of one flow
	itemTick                   // capture time advanced by tickInterval
	itemEnd                    // the flow was evicted or replaced: finish it
	itemClose                  // end of input
)

var itemKindNames = [...]string{itemPacket: "packet", itemTick: "tick", itemEnd: "end", itemClose: "close"}

func (k itemKind) String() string {
	if int(k) < len(itemKindNames) {
		return itemKindNames[k]
	}
	return fmt.Sprintf("itemKind(%d)", uint8(k))
}

// item is one thing a worker is asked to do, with its place in capture
// order (seq).
type item struct {
	kind   itemKind
	seq    uint64
	frame  uint64 // the packet's frame number
	ci     gopacket.CaptureInfo
	lt     layers.LinkType
	off, n int // the packet's bytes in the batch's data
	hdr    header
	fe     *frontEntry
	first  bool
	now    time.Time
	slow   bool
}
