package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tlsresume/tlsresume/capture"
)

// notifyFunc subscribes a channel to signals, as signal.Notify does.
type notifyFunc func(c chan<- os.Signal, sig ...os.Signal)

// subscribe asks notify for SIGUSR1 and, when there is an -o file to
// reopen, SIGHUP. Without -o SIGHUP keeps its default (or nohup's). It
// returns nil when notify is nil.
func subscribe(notify notifyFunc, reopen bool) chan os.Signal {
	if notify == nil {
		return nil
	}
	c := make(chan os.Signal, 4)
	sigs := []os.Signal{syscall.SIGUSR1}
	if reopen {
		sigs = append(sigs, syscall.SIGHUP)
	}
	notify(c, sigs...)
	return c
}

// watchSignals serves the signals subscribed to until the returned stop
// function is called: SIGHUP reopens the -o file (of), SIGUSR1 prints a
// counter snapshot on stderr. stats and tls must be safe to read while
// the input is being read; stderr must be safe for concurrent use.
func watchSignals(sigs chan os.Signal, of *outFile, stats func() capture.Stats, tls *atomic.Int64, live bool, stderr io.Writer) (stop func()) {
	if sigs == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				switch s {
				case syscall.SIGHUP:
					if of != nil {
						of.Reopen()
					}
				case syscall.SIGUSR1:
					fmt.Fprintln(stderr, snapshot(stats(), tls.Load(), live))
				}
			}
		}
	})
	return func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}

// snapshot is the line SIGUSR1 prints.
func snapshot(st capture.Stats, tls int64, live bool) string {
	s := fmt.Sprintf("tlsresume: %d packets, %d bytes, %d TLS connections", st.Packets, st.Bytes, tls)
	if live {
		s += fmt.Sprintf(", %d dropped by the kernel", st.KernelDrops)
	}
	return s
}

// countedSource counts what Next delivers in atomics, so that SIGUSR1 can
// read them while the input is read: a file source's own Stats may only
// be read by the goroutine that calls Next.
type countedSource struct {
	capture.Source
	packets, bytes atomic.Uint64
}

func (c *countedSource) Next() (capture.Packet, error) {
	p, err := c.Source.Next()
	if err == nil {
		c.packets.Add(1)
		c.bytes.Add(uint64(len(p.Data)))
	}
	return p, err
}

// stats returns the counts so far; it may be called from any goroutine.
func (c *countedSource) stats() capture.Stats {
	return capture.Stats{Packets: c.packets.Load(), Bytes: c.bytes.Load()}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
