package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pcapRecords returns the offset of every packet record of a little-endian
// pcap file, and the file's length.
func pcapRecords(t *testing.T, b []byte) []int {
	t.Helper()
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 && binary.LittleEndian.Uint32(b) != 0xa1b23c4d {
		t.Fatal("not a little-endian pcap")
	}
	var offs []int
	for off := 24; off+16 <= len(b); {
		offs = append(offs, off)
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return offs
}

// connLines returns the conn events of NDJSON output by id, as their lines.
func connLines(t *testing.T, out string) map[int]string {
	t.Helper()
	m := map[int]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Type string
			ID   json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		if e.Type == "conn" {
			var id int
			if err := json.Unmarshal(e.ID, &id); err != nil {
				t.Fatalf("bad conn id in %q", sc.Text())
			}
			m[id] = sc.Text()
		}
	}
	return m
}

var truncMsg = regexp.MustCompile(`^tlsresume: stdin: truncated capture file after (\d+) packets? \(unexpected end of file in a packet record\)\n$`)

// TestTruncatedEveryOffset cuts a capture at every byte offset from the
// first packet of its last connection to the end, and runs the command on
// each prefix. A cut at a record boundary is a shorter well-formed capture
// (exit 0); anywhere else the command exits 1 with one line naming the cut
// and how many packets came before it. Whatever the cut, the output is
// valid NDJSON with the summary last, every connection that started before
// the last one keeps its conn event byte for byte, and the last connection
// is never given a resumption the whole capture does not show.
// By default every 23rd offset and every record boundary is cut; every
// offset with TLSRESUME_LONG=1 (half a minute).
func TestTruncatedEveryOffset(t *testing.T) {
	for _, name := range []string{"tls12-ticket", "tls13-psk", "tls12-sessionid"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join(pcapDir, "openssl", name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			full, errs, code := runBytes(t, b)
			if code != 0 {
				t.Fatalf("whole file: exit %d: %s", code, errs)
			}
			whole := connLines(t, full)
			last := 0
			for id := range whole {
				last = max(last, id)
			}
			recs := pcapRecords(t, b)
			boundary := map[int]int{} // offset -> packets before it
			for i, off := range recs {
				boundary[off] = i
			}
			boundary[len(b)] = len(recs)
			// The last connection's first packet: its SYN, the first record
			// whose packet is not from an earlier connection. Found as the
			// first cut at which the last id appears in the output.
			start := firstCutWithConn(t, b, recs, last)
			step := 23
			if longRun() {
				step = 1
			}
			for cut := start; cut < len(b); cut++ {
				n, atBoundary := boundary[cut]
				if !atBoundary && (cut-start)%step != 0 {
					continue
				}
				out, errs, code := runBytes(t, b[:cut])
				switch {
				case atBoundary && (code != 0 || errs != ""):
					t.Fatalf("cut at %d, a record boundary: exit %d, stderr %q", cut, code, errs)
				case !atBoundary:
					m := truncMsg.FindStringSubmatch(errs)
					if code != 1 || m == nil {
						t.Fatalf("cut at %d: exit %d, stderr %q", cut, code, errs)
					}
					n = 0
					for _, off := range recs {
						if off+16 <= cut && off+16+int(binary.LittleEndian.Uint32(b[off+8:])) <= cut {
							n++
						}
					}
					if m[1] != strconv.Itoa(n) {
						t.Fatalf("cut at %d: %q, %d packets before the cut", cut, errs, n)
					}
				}
				parseEvents(t, out)
				got := connLines(t, out)
				for id, line := range whole {
					if id != last && got[id] != line {
						t.Fatalf("cut at %d: conn %d differs from the whole capture's:\n got %s\nwant %s", cut, id, got[id], line)
					}
				}
				if l, ok := got[last]; ok && strings.Contains(l, `"handshake":"resumed"`) {
					var c, w event
					json.Unmarshal([]byte(l), &c)
					json.Unmarshal([]byte(whole[last]), &w)
					if w.Handshake != "resumed" || method(w) != method(c) {
						t.Fatalf("cut at %d: the last conn is resumed by %q, the whole capture says %s %q", cut, method(c), w.Handshake, method(w))
					}
				}
			}
		})
	}
}

// firstCutWithConn returns the offset of the record that holds the first
// packet of TCP flow id: ids are numbered by first packet, so it is the
// last record of the shortest prefix whose summary counts id flows.
func firstCutWithConn(t *testing.T, b []byte, recs []int, id int) int {
	t.Helper()
	for _, off := range recs {
		out, _, _ := runBytes(t, b[:off])
		var sum struct {
			TCPFlows int `json:"tcp_flows"`
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		json.Unmarshal([]byte(lines[len(lines)-1]), &sum)
		if sum.TCPFlows >= id {
			for i, o := range recs {
				if o == off {
					return recs[i-1]
				}
			}
		}
	}
	t.Fatalf("no record starts connection %d", id)
	return 0
}
