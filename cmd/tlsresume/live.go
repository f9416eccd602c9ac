package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
)

// liveTick is how often, by the wall clock, readLive ticks the tracker and
// runs o.onTick.
const liveTick = time.Second

// readLive feeds a live capture to the tracker until the context ends
// (SIGINT, SIGTERM), -c packets or --duration. Flows and sessions expire
// by the wall clock, and every verdict is handed on as soon as it is known.
//
// It reads and analyses on the caller's goroutine: src.Poll hands over each
// packet where the kernel put it, and tr.Packet copies what it keeps into a
// batch for the workers before the next Poll, so a packet is copied once
// (the front's copy) and nothing is allocated for it here. Poll returns
// ErrTimeout after capture.PollWait without a packet, which is when the
// ring is drained: the batches go to the workers then (Sync), so that the
// verdicts come out at once. Between packets and at each timeout readLive
// looks at the context, the deadline and the clock, so it stops within
// PollWait of a signal and ticks once a second even with no traffic. It
// closes src itself, on this goroutine, before it returns, and no packet
// of src is used after that.
func readLive(ctx context.Context, src capture.Live, tr *flows.Tracker, o *options) error {
	start := time.Now()
	var end time.Time
	if o.duration > 0 {
		end = start.Add(o.duration)
	}
	nextTick := start.Add(liveTick)
	var n int64
	unsynced := false
	defer src.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		p, err := src.Poll()
		// The clock: a packet's kernel timestamp, without a system call
		// per packet, or after a wait the wall clock itself.
		var now time.Time
		switch {
		case err == nil:
			tr.Packet(p.Data, p.CI, p.LinkType, p.Frame)
			n++
			if o.count > 0 && n >= o.count {
				return nil
			}
			unsynced = true
			now = p.CI.Timestamp
		case errors.Is(err, capture.ErrTimeout):
			if unsynced {
				tr.Sync()
				unsynced = false
			}
			now = time.Now()
		case err == io.EOF:
			return nil
		default:
			return err
		}
		if !end.IsZero() && !now.Before(end) {
			return nil
		}
		if !now.Before(nextTick) {
			tr.Tick(now)
			tr.Sync()
			unsynced = false
			if o.onTick != nil {
				o.onTick()
			}
			nextTick = now.Add(liveTick)
		}
	}
}
