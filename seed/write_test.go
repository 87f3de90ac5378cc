package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	jsoniter "github.com/json-iterator/go"
)

// encodeCanonical writes the bytes canonicalJSON.Marshal writes.
func TestEncodeCanonicalMatchesMarshal(t *testing.T) {
	docs := []string{
		`{}`, `[]`, `null`, `{"a":null,"b":[],"c":{},"d":[null,{},[]]}`,
		`{"z":1,"a":-0,"m":1e300,"n":12345678901234567890123,"f":1.50,"e":-2.5E-3}`,
		`{"s":"<a href=\"x\">&amp;</a>","u":"Köln \u2028 \u2029 \ud83d\ude00 \u0000\u001f\t\n\r\\/","k\"ey":true,"":false}`,
		"{\"bad\":\"\xff\xfe x \xc3\",\"\xe2\x82\":1}",
		`{"b":{"y":[1,{"q":"r","a":[true,false,null]}],"x":"é"},"a":[[[[]]]]}`,
		`{"_key":"k1","_id":"c/k1","_rev":"_x","Z":1,"a":2,"B":3,"_a":4,"é":5,"e":6}`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		docs = append(docs, randomJSON(r, 4))
	}
	s := jsoniter.NewStream(canonicalJSON, nil, 512)
	for _, d := range docs {
		var v any
		if err := canonicalJSON.Unmarshal([]byte(d), &v); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		want, err := canonicalJSON.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s.SetBuffer(s.Buffer()[:0])
		encodeCanonical(s, v)
		if got := string(s.Buffer()); got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", d, got, want)
		}
	}
}

func randomJSON(r *rand.Rand, depth int) string {
	pieces := []string{`"a"`, `"<&>"`, `"\u00e9\u0001"`, `"\ud83d\ude00"`, `0`, `-1.25e10`, `true`, `false`, `null`, `""`, "\"\xff\""}
	switch n := r.IntN(4); {
	case depth == 0 || n == 0:
		return pieces[r.IntN(len(pieces))]
	case n == 1:
		parts := make([]string, r.IntN(4))
		for i := range parts {
			parts[i] = randomJSON(r, depth-1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		parts := make([]string, r.IntN(6))
		for i := range parts {
			k := []string{"b", "a", "B", "_k", "é", "a b", "z9", `\u007f`, `\"`}[r.IntN(9)] + fmt.Sprint(r.IntN(3))
			parts[i] = `"` + k + `":` + randomJSON(r, depth-1)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}
