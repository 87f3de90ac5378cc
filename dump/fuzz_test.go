package dump

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseMaskings: a maskings file is user input; parsing must fail cleanly, never panic.
func FuzzParseMaskings(f *testing.F) {
	f.Add([]byte(`{"c":{"type":"masked","maskings":[{"path":".name","type":"xifyFront","unmaskedLength":2,"hash":true}]}}`))
	f.Add([]byte(`{"*":{"type":"structure"},"a":{"type":"full"}}`))
	f.Add([]byte(`{"c":{"type":"masked","maskings":[{"path":"` + "`a.b`" + `","type":"datetime","begin":"2019","end":"2020-01","format":"%z"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseMaskings(b)
	})
}

// FuzzMaskDocument: masking a document (server data) must not panic, and a valid JSON
// object must stay a valid JSON object with the same top-level attributes.
func FuzzMaskDocument(f *testing.F) {
	f.Add([]byte(`{"_key":"a","name":"Ann","n":[1,2.5,{"name":null}],"x":{"y":true}}`))
	f.Add([]byte(`{"name":"","":{"":[[[]]]}}`))
	m, err := ParseMaskings([]byte(`{"c":{"type":"masked","maskings":[{"path":"name","type":"xifyFront"},{"path":".y","type":"random"},{"path":"*","type":"randomString"}]}}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if bytes.ContainsAny(doc, "\n\r") {
			return
		}
		mk := m.NewMasker("c")
		var out bytes.Buffer
		err := mk.MaskLines(&out, append(doc, '\n'))
		var in map[string]json.RawMessage
		if json.Unmarshal(doc, &in) != nil || len(bytes.TrimSpace(doc)) == 0 {
			return // invalid input may fail, but must not panic
		}
		if err != nil {
			t.Fatalf("valid document %q: %v", doc, err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("masked %q into invalid JSON %q: %v", doc, out.Bytes(), err)
		}
		if len(got) != len(in) {
			t.Fatalf("masked %q: %d attributes, want %d", doc, len(got), len(in))
		}
	})
}
