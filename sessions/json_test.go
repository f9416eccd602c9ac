package sessions

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/tlsresume/tlsresume/verdict"
)

// marshal is what the conn event was before AppendJSON: encoding/json
// with HTML escaping off.
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestConnAppendJSON fills every exported field of Conn with random
// values, by reflection, so that a field added to Conn and not to
// AppendJSON fails here, and compares AppendJSON with encoding/json.
func TestConnAppendJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var c Conn
		fill(r, reflect.ValueOf(&c).Elem())
		got, want := c.AppendJSON(nil), marshal(t, &c)
		if !bytes.Equal(got, want) {
			t.Fatalf("conn %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

var (
	tsType       = reflect.TypeFor[Timestamp]()
	addrType     = reflect.TypeFor[netip.Addr]()
	methodType   = reflect.TypeFor[verdict.Method]()
	outcomeType  = reflect.TypeFor[verdict.Outcome]()
	transType    = reflect.TypeFor[verdict.Transport]()
	kindType     = reflect.TypeFor[verdict.IssuedKind]()
	stringValues = []string{"", "a", "example.test", "h2", "é", "\x00\x1f", "\"q\"", `back\slash`, "<&>", "\xff\xfe", "\u2028", "TLS 1.3", "tkt:1ad18b07"}
	floatValues  = []float64{0, 1, -1, 0.5, 1e-7, 1.5e-9, 1e21, 123456.789, 3600, 1e20, 2.5e-6}
)

func fill(r *rand.Rand, v reflect.Value) {
	switch v.Type() {
	case tsType:
		ts := Timestamp{Time: time.Unix(r.Int64N(4e9), r.Int64N(1e9)), Nano: r.IntN(2) == 0}
		v.Set(reflect.ValueOf(ts))
		return
	case addrType:
		var a netip.Addr
		switch r.IntN(4) {
		case 1:
			a = netip.AddrFrom4([4]byte{byte(r.IntN(256)), 2, 3, byte(r.IntN(256))})
		case 2:
			a = netip.MustParseAddr("2001:db8::1")
		case 3:
			a = netip.MustParseAddr("fe80::1").WithZone("eth0")
		}
		v.Set(reflect.ValueOf(a))
		return
	case methodType, outcomeType, transType, kindType:
		v.SetUint(uint64(r.IntN(4)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(stringValues[r.IntN(len(stringValues))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if r.IntN(3) == 0 {
			v.SetUint(0)
		} else {
			v.SetUint(r.Uint64() >> (64 - v.Type().Bits()))
		}
	case reflect.Float64:
		v.SetFloat(floatValues[r.IntN(len(floatValues))] * math.Pow(10, float64(r.IntN(5)-2)))
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		switch r.IntN(3) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+r.IntN(3), 3)
			for i := range s.Len() {
				fill(r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: " + v.Type().String())
	}
}
