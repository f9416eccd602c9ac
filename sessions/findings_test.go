package sessions

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tlsresume/tlsresume/verdict"
)

// kinds returns the kinds of the findings, in order, but for
// clients_never_offer (these hand-made clients offer little).
func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Kind != FindingClientsNeverOffer {
			out = append(out, f.Kind.String())
		}
	}
	return out
}

// TestFindingKeyHints: rotation only where hints are shared by tickets.
// The truth is the construction: tickets whose first 16 bytes are a key
// name shared by every ticket under one key (OpenSSL, GnuTLS), or random
// per ticket (Go's crypto/tls).
func TestFindingKeyHints(t *testing.T) {
	tests := []struct {
		name  string
		hints []string // one ticket each, one a second
		want  []string
	}{
		{"one key", []string{"a", "a", "a", "a"}, nil},
		{"rotated twice", []string{"a", "a", "b", "b", "c", "c"}, []string{"ticket_key_rotation"}},
		{"random per ticket (Go)", []string{"a", "b", "c", "d", "e", "f"}, nil},
		{"one reused, the rest random", []string{"a", "a", "b", "c", "d", "e"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			for i, h := range tt.hints {
				is := tkt(fmt.Sprintf("t%d", i), 7200)
				is.KeyHint = fmt.Sprintf("%032s", h)
				s.Join(conn12(i+1, i, "192.0.2.1", "", "", "", true, false, is))
			}
			if got := kinds(s.Findings()); !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFindingRefusals: how refusals are told apart, on hand-made
// histories (session IDs; the truth is the construction).
func TestFindingRefusals(t *testing.T) {
	type step struct {
		sec     int
		make    string // a new session ID issued by a full handshake
		offer   string // a session ID offered
		resumed bool
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{"timeout: old refused, young resumed", []step{
			{0, "a", "", false}, {1, "b", "", false}, {3, "c", "", false},
			{5, "", "c", true}, {20, "", "a", false}, {21, "", "b", false},
		}, []string{"session_lifetime"}},
		{"restart: every older session refused, newer ones resume, ages overlap", []step{
			{0, "a", "", false}, {1, "b", "", false}, {2, "", "a", true},
			{10, "", "a", false}, {11, "", "b", false}, {12, "n", "", false}, {30, "", "n", true},
		}, []string{"restart_or_key_change"}},
		{"an older session resumes after the refusals: no restart, a cache", []step{
			{0, "a", "", false}, {5, "b", "", false}, {6, "", "b", false}, {10, "", "a", true},
		}, []string{"cache_evicts_early"}},
		{"nothing refused", []step{{0, "a", "", false}, {1, "", "a", true}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{})
			for i, st := range tt.steps {
				id := i + 1
				var ob *verdict.Observation
				switch {
				case st.make != "":
					ob = conn12(id, st.sec, "192.0.2.1", "", st.make, "", true, false)
				case st.resumed:
					ob = conn12(id, st.sec, "192.0.2.1", st.offer, st.offer, "", false, true)
				default:
					ob = conn12(id, st.sec, "192.0.2.1", st.offer, fmt.Sprintf("new%d", id), "", true, false)
				}
				s.Join(ob)
			}
			if got := kinds(s.Findings()); !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
		})
	}
}
