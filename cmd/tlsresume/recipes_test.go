package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// recipeCaptures are read together (several -r) as cap.pcap: a rejected
// offer after a server restart, TLS 1.2 ticket resumptions (a session of
// three conns), a QUIC 0-RTT resumption, and a handshake whose verdict is
// unknown, so that every recipe has a non-trivial answer.
var recipeCaptures = []string{
	"openssl/tls12-rejected-restart.pcap",
	"openssl/tls12-ticket.pcap",
	"corpus/zeek/quic/interop/quic-go_quic-go/zerortt.pcap",
	"corpus/zeek/tls/tls-1.2-handshake-failure.pcap",
}

// TestREADMERecipes runs every line of the README's "### jq recipes"
// section that starts with "tlsresume -r cap.pcap | jq", with jq on the
// output for recipeCaptures, and checks each answer against the same
// figure computed here from the NDJSON.
func TestREADMERecipes(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed (apt-get install jq): the README's recipes not run")
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "tlsresume -r cap.pcap | "
	var recipes []string
	section, inSh := false, false
	for line := range strings.Lines(string(readme)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "### "), strings.HasPrefix(line, "## "):
			section = line == "### jq recipes"
		case section && strings.HasPrefix(line, "```"):
			inSh = !inSh && line == "```sh"
		case section && inSh && strings.HasPrefix(line, prefix+"jq"):
			recipes = append(recipes, strings.TrimPrefix(line, prefix))
		}
	}
	var args []string
	for _, c := range recipeCaptures {
		args = append(args, "-r", filepath.Join(pcapDir, c))
	}
	out, errs, code := runTool(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var events []map[string]any
	for line := range strings.Lines(out) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	of := func(typ string) []map[string]any {
		return slices.DeleteFunc(slices.Clone(events), func(e map[string]any) bool { return e["type"] != typ })
	}
	conns, sessionsEv, sum := of("conn"), of("session"), of("summary")[0]
	pick := func(e map[string]any, keys ...string) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = e[k]
		}
		return m
	}

	// The expected answers, by the recipe's title (the comment above it).
	want := map[string]func() []any{
		"resumption rate": func() []any {
			full, resumed := 0.0, 0.0
			for _, c := range conns {
				switch c["handshake"] {
				case "full":
					full++
				case "resumed":
					resumed++
				}
			}
			return []any{resumed / (full + resumed)}
		},
		"rejected offers": func() []any {
			var r []any
			for _, c := range conns {
				if c["rejected"] == true {
					r = append(r, pick(c, "id", "client", "server", "sni", "offered"))
				}
			}
			return r
		},
		"connections by method": func() []any {
			n := map[string]float64{}
			for _, c := range conns {
				m, _ := c["resumption"].(string)
				if m == "" {
					m = c["handshake"].(string)
				}
				n[m]++
			}
			var r []any
			for _, m := range slices.Sorted(func(yield func(string) bool) {
				for k := range n {
					if !yield(k) {
						return
					}
				}
			}) {
				r = append(r, map[string]any{"method": m, "n": n[m]})
			}
			return []any{r}
		},
		"every connection of the largest session": func() []any {
			var big []any
			for _, s := range sessionsEv {
				if ids := s["conns"].([]any); len(ids) > len(big) {
					big = ids
				}
			}
			var r []any
			for _, c := range conns {
				if slices.Contains(big, c["id"]) {
					r = append(r, c)
				}
			}
			return r
		},
		"resumption rate per server": func() []any {
			var r []any
			for _, row := range sum["servers"].([]any) {
				r = append(r, pick(row.(map[string]any), "server", "sni", "conns", "resumed", "resumption_rate"))
			}
			return r
		},
		"QUIC connections that used 0-RTT": func() []any {
			var r []any
			for _, c := range conns {
				if c["transport"] == "quic" && c["zero_rtt_packets"].(float64) > 0 {
					r = append(r, pick(c, "id", "server", "sni", "resumption", "zero_rtt_packets"))
				}
			}
			return r
		},
		"from a conn to its packets in Wireshark": func() []any {
			for _, c := range conns {
				if c["id"] == 3.0 {
					return []any{c["client_hello_frame"]}
				}
			}
			return nil
		},
	}
	// Titles are the comment lines above each recipe.
	titles := map[string]string{}
	var last string
	for line := range strings.Lines(string(readme)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "# ") {
			last = strings.TrimPrefix(line, "# ")
		} else if strings.HasPrefix(line, prefix+"jq") {
			titles[strings.TrimPrefix(line, prefix)] = last
		}
	}
	if len(recipes) != len(want) {
		t.Errorf("%d recipes in the README, %d checked here", len(recipes), len(want))
	}
	for _, r := range recipes {
		title := titles[r]
		// The title up to its first ':', ',' or '(' names the check.
		key := title
		if i := strings.IndexAny(key, ":,("); i >= 0 {
			key = strings.TrimSpace(key[:i])
		}
		check := want[key]
		if check == nil {
			t.Errorf("recipe %q (%q) has no expected answer here", title, r)
			continue
		}
		cmd := exec.Command("sh", "-c", r)
		cmd.Stdin = strings.NewReader(out)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: %v: %s", title, err, stderr.String())
			continue
		}
		var got []any
		dec := json.NewDecoder(&stdout)
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: jq printed something that is not JSON: %v", title, err)
			}
			got = append(got, v)
		}
		exp := check()
		if len(exp) == 0 {
			t.Errorf("%s: the expected answer is empty on these captures: choose others", title)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("%s:\n jq:   %v\n want: %v", title, got, exp)
		}
	}
}
