package format

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		line string
		kind LineKind
		doc  string
		key  string
	}{
		{`{"_key":"a","_id":"c/a","_rev":"_x","v":1}`, KindDocument, `{"_key":"a","_id":"c/a","_rev":"_x","v":1}`, ""},
		{`{"type":2300,"data":{"_key":"a","v":[1,2]}}`, KindInsert, `{"_key":"a","v":[1,2]}`, ""},
		{`{"data":{"_key":"a"},"type":2300}`, KindInsert, `{"_key":"a"}`, ""},
		{`{"type":2300,"key":"k","rev":"1","data":{"_key":"k"}}`, KindInsert, `{"_key":"k"}`, "k"},
		{`{"type":2301,"data":{"_key":"e","_from":"a/1","_to":"a/2"}}`, KindInsert, `{"_key":"e","_from":"a/1","_to":"a/2"}`, ""},
		{`{"type":2302,"key":"gone","rev":"5"}`, KindRemove, ``, "gone"},
		{`{"type":2302,"data":{"_key":"gone2","_rev":"5"}}`, KindRemove, `{"_key":"gone2","_rev":"5"}`, "gone2"},
		{` { "type" : 2302 , "key" : "sp\u00e9" } `, KindRemove, ``, "spé"},
		// A document that happens to have type/data members stays a document
		// when it has _key or other members.
		{`{"_key":"x","type":2302,"data":{}}`, KindDocument, `{"_key":"x","type":2302,"data":{}}`, ""},
		{`{"type":2300,"data":{},"color":"red"}`, KindDocument, `{"type":2300,"data":{},"color":"red"}`, ""},
		{`{"type":2300,"data":"notanobject"}`, KindDocument, `{"type":2300,"data":"notanobject"}`, ""},
		{`{"type":2000,"data":{}}`, KindDocument, `{"type":2000,"data":{}}`, ""},
		{`{"type":"2300","data":{}}`, KindDocument, `{"type":"2300","data":{}}`, ""},
		{"{\"_key\":\"a\"}\r", KindDocument, "{\"_key\":\"a\"}\r", ""},
	}
	for _, tc := range cases {
		l, err := Classify([]byte(tc.line))
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if l.Kind != tc.kind || string(l.Doc) != tc.doc || l.Key != tc.key || string(l.Raw) != tc.line {
			t.Errorf("%s: got kind %v doc %q key %q", tc.line, l.Kind, l.Doc, l.Key)
		}
	}
	bad := []string{``, `{`, `{"a":1,}`, `{"a":01}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":1} x`, `[1]`, `"s"`, `{"a":tru}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{a:1}`, `{"a" 1}`, `{"a":[1,]}`, `{"a":"\u12"}`}
	for _, b := range bad {
		if _, err := Classify([]byte(b)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("%q: got %v, want ErrInvalidJSON", b, err)
		}
	}
}

func TestValidJSONDepth(t *testing.T) {
	deep := make([]byte, 0, 2*maxDepth+10)
	for i := 0; i < maxDepth+1; i++ {
		deep = append(deep, '[')
	}
	for i := 0; i < maxDepth+1; i++ {
		deep = append(deep, ']')
	}
	if (validJSON(deep) == nil) != json.Valid(deep) {
		t.Errorf("depth %d: validJSON and json.Valid disagree", maxDepth+1)
	}
	deep = deep[1 : len(deep)-1]
	if (validJSON(deep) == nil) != json.Valid(deep) {
		t.Errorf("depth %d: validJSON and json.Valid disagree", maxDepth)
	}
}

// FuzzClassify: the classifier accepts exactly what encoding/json accepts
// (for objects), never panics, and its Doc/Key agree with a full decode.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		`{"_key":"a","v":1}`, `{"type":2300,"data":{"_key":"a"}}`, `{"type":2302,"key":"a"}`,
		`{"data":{"_key":"a"},"type":2301,"key":"a","rev":"1"}`, `{"type":2302,"data":{"_key":"b"}}`,
		`{"a":[1,2,{"b":null}],"c":"\u00e9\n","d":-1.5e10,"e":true,"f":false}`, `{"a":"\ud800"}`, `[]`, `{`, `{"a":1,}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Classify(b)
		var v any
		decErr := json.Unmarshal(b, &v)
		_, isObj := v.(map[string]any)
		if (err == nil) != (decErr == nil && isObj) {
			t.Fatalf("%q: Classify err %v, encoding/json err %v (object %v)", b, err, decErr, isObj)
		}
		if (validJSON(b) == nil) != json.Valid(b) {
			t.Fatalf("%q: validJSON and json.Valid disagree", b)
		}
		if err != nil {
			return
		}
		m := v.(map[string]any)
		switch l.Kind {
		case KindDocument:
			if string(l.Doc) != string(b) {
				t.Fatalf("document Doc differs from line")
			}
		case KindInsert, KindRemove:
			typ, _ := m["type"].(float64)
			if typ != 2300 && typ != 2301 && typ != 2302 {
				t.Fatalf("%q: envelope with type %v", b, m["type"])
			}
			for k := range m {
				if k != "type" && k != "data" && k != "key" && k != "rev" {
					t.Fatalf("%q: envelope with member %q", b, k)
				}
			}
			if l.Kind == KindInsert {
				var d any
				if json.Unmarshal(l.Doc, &d) != nil {
					t.Fatalf("%q: Doc %q does not decode", b, l.Doc)
				}
				if _, ok := d.(map[string]any); !ok {
					t.Fatalf("%q: insert Doc is not an object", b)
				}
			}
			if k, ok := m["key"].(string); ok && l.Key != k {
				t.Fatalf("%q: Key %q, want %q", b, l.Key, k)
			}
		}
	})
}

func FuzzParseDumpJSON(f *testing.F) {
	for _, s := range []string{
		`{"database":"_system","lastTickAtDumpStart":"1732950"}`,
		`{"database":"d","createdAt":"2025-11-16T08:14:33Z","lastTickAtDumpStart":"15061","useEnvelope":false,"useVPack":false,"properties":{"id":"1490","name":"d","isSystem":false}}`,
		`{"database":"x","lastTickAtDumpStart":12,"useEnvelope":true,"properties":null}`, `[]`, `{"properties":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDumpJSON(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("%q: error %v does not wrap ErrInvalidJSON", b, err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("%q: accepted invalid JSON", b)
		}
		if len(m.Properties) > 0 && !json.Valid(m.Properties) {
			t.Fatalf("invalid properties")
		}
		_ = m.PropertyName()
	})
}

func FuzzParseStructure(f *testing.F) {
	for _, s := range []string{
		`{"indexes":[{"id":"1","type":"persistent","fields":["a"]}],"parameters":{"name":"c","type":2,"cid":"5","numberOfShards":3,"replicationFactor":"satellite","shardKeys":["_key"]}}`,
		`{"parameters":{"version":5,"type":3,"cid":"59844899","name":"e","indexes":[{"id":"0","type":"primary"},{"id":"1","type":"edge"},{"id":"2","type":"hash","fields":["x"]}]},"indexes":[]}`,
		`{"parameters":{"name":"../x"}}`, `{"parameters":{}}`, `{"parameters":{"name":"a","type":4}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseStructure(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrNoName) && !errors.Is(err, ErrUnsafeName) {
				t.Fatalf("%q: unexpected error kind %v", b, err)
			}
			return
		}
		if c.Name == "" || !safeName(c.Name) || (c.Type != TypeDocument && c.Type != TypeEdge) {
			t.Fatalf("%q: accepted name %q type %d", b, c.Name, c.Type)
		}
		for _, ix := range c.Indexes {
			if !json.Valid(ix) {
				t.Fatalf("invalid index")
			}
		}
		if !json.Valid(c.StructureJSON()) {
			t.Fatalf("invalid StructureJSON")
		}
		// File names built from it stay in the directory.
		for _, n := range []string{StructureFileName(c.Name, c.ID, false), StructureFileName(c.Name, c.ID, true), DataFileName(c.Name, c.ID, 3, true, false)} {
			if !safeFileStem(n) {
				t.Fatalf("unsafe file name %q", n)
			}
		}
	})
}

func jsonValid(b []byte) bool { return json.Valid(b) }
