// Package flows is the packet pipeline: it follows connections in a stream
// of captured packets, reads their TLS handshakes through the transport
// that carries them, and hands one observation per connection, in capture
// order, to a Sink (package sessions).
//
// # Stages and goroutines
//
//		caller ──Packet──▶ front ──batches──▶ worker 1..N ──results──▶ merger ──▶ Sink
//		                  (front.go)          (worker.go)              (merger.go)
//
//	  - The front is the [Tracker]'s methods, run by the caller's goroutine
//	    (Packet, Tick, Sync and Close must come from one goroutine). It
//	    decodes each packet's link and network headers once (header.go: a
//	    fixed-offset fast path, gopacket's DecodingLayerParser otherwise),
//	    gives every flow its id in its table (keyed by a comparable
//	    [flowKey] that holds TCP and UDP 5-tuples), evicts the oldest flow
//	    past Config.MaxFlows, drops the packets of flows that are finished,
//	    and copies the others, with the header it decoded, into per-worker
//	    batches (batch.go). A flow always goes to the same worker (a
//	    symmetric hash of its addresses, key.go).
//	  - Each worker runs in its own goroutine and owns the connections of
//	    its shard: their transport state (tcp.go: gopacket reassembly, one
//	    tlsparse.Stream per direction; transport.go says how another
//	    transport plugs in) and their handshake readers (handshake.go). The
//	    transport decodes only its own header, at the place the front
//	    found. The handshake reader alone decides when the verdict is known;
//	    the worker then builds the [verdict.Observation].
//	  - The merger runs in its own goroutine. It orders the workers'
//	    observations by the packet (or tick) at which each was decided, and
//	    hands them to the Sink once no worker can still produce an earlier
//	    one. So the Sink's calls, and the output, depend on the capture
//	    alone, never on the number of workers or their timing.
//
// # What crosses between them
//
// The front hands a worker a batch: items (a packet, a tick, the end of a
// flow, the end of input), each with its place in capture order, and the
// packets' bytes copied back to back. Once sent, the batch belongs to the
// worker until it puts it back on the free list. A worker tells the front
// which flows it finished over a channel the front drains at each
// hand-off, without waiting; until then the worker drops those packets
// itself. A worker hands the merger its observations and the mark up to
// which it has seen the input. Observations are built from copies: the
// packet bytes, batch buffers, reassembly's ScatterGather and the parsers'
// slices never outlive the call that sees them.
//
// # Clocks
//
// Time is capture time everywhere in this package: the front's clock is
// the latest packet timestamp (or what Tick gives in live capture), and it
// sends ticks every tickInterval of it; workers flush reassembly, end idle
// flows and forget finished ones by the times of the packets and ticks
// they are handed, and the Sink's Tick gets the time of the slow tick.
// Nothing here reads the wall clock.
//
// The design document, docs/design.md, describes the whole pipeline and the
// resumption rules.
package flows
