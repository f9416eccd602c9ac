package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSensor: --sensor stamps every event, and the output is otherwise
// byte for byte the output without it (which the golden files pin).
func TestSensor(t *testing.T) {
	in := "../../testdata/pcaps/openssl/tls12-ticket.pcap"
	runOut := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(t.Context(), append([]string{"-r", in}, args...), nil, &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	plain, stamped := runOut(), runOut("--sensor", `edge-1 "fra"`)
	validateOutput(t, "with --sensor", []byte(stamped))
	lines := strings.Split(strings.TrimSpace(stamped), "\n")
	for i, l := range lines {
		if strings.Count(l, `,"sensor":"edge-1 \"fra\""`) != 1 {
			t.Errorf("line %d has no sensor: %s", i+1, l)
		}
	}
	if got := strings.ReplaceAll(stamped, `,"sensor":"edge-1 \"fra\""`, ""); got != plain {
		t.Errorf("without the sensor field the output differs:\n%s\nwant\n%s", got, plain)
	}
	if strings.Contains(plain, `"sensor"`) {
		t.Error("a sensor field without --sensor")
	}
	var errb bytes.Buffer
	if code := run(t.Context(), []string{"-r", in, "--sensor", ""}, nil, new(bytes.Buffer), &errb); code != exitUsage {
		t.Errorf(`--sensor "": exit %d, want %d (%s)`, code, exitUsage, errb.String())
	}
}
