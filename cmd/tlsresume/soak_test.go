package main

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rssKB reads a process's resident set size from /proc.
func rssKB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return -1
}

// TestLiveSoak captures on lo while crypto/tls connections (full and
// resumed) come and go for TLSRESUME_SOAK seconds, and reports the
// capture's RSS every 10 seconds: once the flows of the first minute have
// timed out, memory must stay flat. It runs only with TLSRESUME_SOAK set,
// as root: scripts/soak-live.sh.
func TestLiveSoak(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("TLSRESUME_SOAK"))
	if secs <= 0 {
		t.Skip("set TLSRESUME_SOAK=SECONDS to run the live soak (scripts/soak-live.sh)")
	}
	if secs < 100 {
		t.Fatal("TLSRESUME_SOAK: run at least 100 seconds, so that flows time out")
	}
	needLive(t)
	bin, ln := liveSetup(t)
	defer ln.Close()
	serveTLS(t, ln, func(tc *tls.Conn) {
		buf := make([]byte, 4)
		io.ReadFull(tc, buf)
		tc.Write(make([]byte, 4096))
	})
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	out, err := os.Create(filepath.Join(t.TempDir(), "out.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-i", "lo", "--session-timeout", "5s", "--flow-timeout", "5s", "tcp port "+port)
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	var samples []int
	caches := make([]tls.ClientSessionCache, 50)
	for i := range caches {
		caches[i] = tls.NewLRUClientSessionCache(4)
	}
	start := time.Now()
	n := 0
	nextSample := start
	for i := 0; time.Since(start) < time.Duration(secs)*time.Second; i++ {
		n++
		if time.Now().After(nextSample) {
			samples = append(samples, rssKB(cmd.Process.Pid))
			nextSample = nextSample.Add(10 * time.Second)
		}
		time.Sleep(2 * time.Millisecond)
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		max := uint16(tls.VersionTLS13)
		if i%2 == 0 {
			max = tls.VersionTLS12
		}
		tc := tls.Client(conn, &tls.Config{ServerName: "soak.test", InsecureSkipVerify: true, MaxVersion: max,
			ClientSessionCache: caches[(i/2)%len(caches)]})
		if _, err := tc.Write([]byte("ping")); err == nil {
			io.Copy(io.Discard, tc)
		}
		tc.Close()
	}
	elapsed := time.Since(start)
	time.Sleep(12 * time.Second) // flows and sessions idle out
	samples = append(samples, rssKB(cmd.Process.Pid))
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
	b, _ := os.ReadFile(out.Name())
	conns := strings.Count(string(b), `"type":"conn"`)
	t.Logf("%d connections in %v; %d conn events; RSS (KB) over the run: %v", n, elapsed.Round(time.Millisecond), conns, samples)
	if conns < n*9/10 {
		t.Errorf("only %d of %d connections reported", conns, n)
	}
	// Flat: after the first 70 seconds (flows idle for 60 s leave
	// reassembly), RSS grows by less than a quarter.
	plateau := samples[7]
	for _, s := range samples[8:] {
		if s > plateau*5/4 {
			t.Errorf("RSS grew from %d KB at 70 s to %d KB", plateau, s)
		}
	}
}
