package quicgen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	for _, name := range ScenarioNames() {
		p := filepath.Join(t.TempDir(), name+".pcap")
		conns, err := WriteFiles(context.Background(), p, Scenarios()[name], Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := os.ReadFile(p[:len(p)-5] + ".tsv")
		t.Logf("%s: %d conns\n%s", name, len(conns), b)
	}
}
