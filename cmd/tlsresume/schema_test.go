package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	schemaDir  = "../../docs/schema"
	schemaBase = "https://github.com/tlsresume/tlsresume/docs/schema/"
)

var (
	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

// eventSchemas compiles the JSON Schema of each event type (docs/schema/),
// with format assertions on (ipv4, ipv6).
func eventSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	schemasOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schemas = map[string]*jsonschema.Schema{}
		types := []string{"conn", "session", "summary"}
		// The schemas refer to each other by their $id: all are added
		// before any is compiled, so nothing is fetched.
		for _, typ := range types {
			f, err := os.Open(filepath.Join(schemaDir, typ+".schema.json"))
			if err != nil {
				schemasErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(f)
			f.Close()
			if err != nil {
				schemasErr = err
				return
			}
			if err := c.AddResource(schemaBase+typ+".schema.json", doc); err != nil {
				schemasErr = err
				return
			}
		}
		for _, typ := range types {
			s, err := c.Compile(schemaBase + typ + ".schema.json")
			if err != nil {
				schemasErr = err
				return
			}
			schemas[typ] = s
		}
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas
}

// validateOutput checks every line of NDJSON output against the schema of
// its type, and that the summary, and only the summary, is last.
func validateOutput(t testing.TB, name string, out []byte) {
	t.Helper()
	s := eventSchemas(t)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	n, last := 0, ""
	for sc.Scan() {
		n++
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		if err != nil {
			t.Fatalf("%s line %d: %v", name, n, err)
		}
		var head struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("%s line %d: %v", name, n, err)
		}
		if last == "summary" {
			t.Errorf("%s line %d: an event after the summary", name, n)
		}
		last = head.Type
		schema := s[head.Type]
		if schema == nil {
			t.Errorf("%s line %d: type %q has no schema", name, n, head.Type)
			continue
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s line %d (%s): %v", name, n, head.Type, err)
		}
	}
	if n > 0 && last != "summary" {
		t.Errorf("%s: the last line is a %q, not the summary", name, last)
	}
}

// TestSchemaGolden validates every golden file, corpus included, against
// the schema: the contract and what the program prints agree.
func TestSchemaGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.ndjson"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		validateOutput(t, filepath.Base(f), b)
	}
}

// TestSchemaRejects checks that the schema is a real check: outputs with
// a field missing, renamed or retyped fail it.
func TestSchemaRejects(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "openssl__tls12-ticket.pcap.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	conn, sum := lines[0], lines[len(lines)-1]
	for _, bad := range []string{
		strings.Replace(conn, `"rejected":false`, `"rejected":0`, 1),
		strings.Replace(conn, `"handshake":"full"`, `"handshake":"maybe"`, 1),
		strings.Replace(conn, `"ja4":"`, `"ja5":"`, 1),
		strings.Replace(conn, `.`, `.5`, 1), // a timestamp of seven digits
		strings.Replace(sum, `"format_version":1`, `"format_version":2`, 1),
		strings.Replace(sum, `"rejected_offers"`, `"rejected"`, 1),
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type string }
		json.Unmarshal([]byte(bad), &head)
		if eventSchemas(t)[head.Type].Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
}
