package main

import (
	"context"
	"io"
	"time"

	"github.com/tlsresume/tlsresume/capture"
	"github.com/tlsresume/tlsresume/flows"
)

// livePacket is a packet copied off the capture, for the main loop.
type livePacket struct {
	p   capture.Packet
	err error
}

// readLive feeds a live capture to the tracker until the context ends
// (SIGINT, SIGTERM), -c packets or --duration. Flows and sessions expire
// by the wall clock, and every verdict is handed on as soon as it is known.
func readLive(ctx context.Context, src capture.Source, tr *flows.Tracker, o *options) error {
	pkts := make(chan livePacket, 1024)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			p, err := src.Next()
			if err == nil {
				p.Data = append([]byte(nil), p.Data...)
			}
			select {
			case pkts <- livePacket{p, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var deadline <-chan time.Time
	if o.duration > 0 {
		timer := time.NewTimer(o.duration)
		defer timer.Stop()
		deadline = timer.C
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			src.Close()
			return ctx.Err()
		case <-deadline:
			src.Close()
			return nil
		case now := <-ticker.C:
			tr.Tick(now)
			tr.Sync()
			if o.onTick != nil {
				o.onTick()
			}
		case lp := <-pkts:
			if lp.err == io.EOF {
				return nil
			}
			if lp.err != nil {
				return lp.err
			}
			tr.Packet(lp.p.Data, lp.p.CI, lp.p.LinkType, lp.p.Frame)
			n++
			if o.count > 0 && n >= o.count {
				src.Close()
				return nil
			}
			if len(pkts) == 0 {
				tr.Sync()
			}
		}
	}
}
