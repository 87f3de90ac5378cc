package dump

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func maskOne(t *testing.T, rules string, doc string) string {
	t.Helper()
	m, err := ParseMaskings([]byte(`{"c":{"type":"masked","maskings":` + rules + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	mk := m.NewMasker("c")
	var out bytes.Buffer
	if err := mk.MaskLines(&out, []byte(doc+"\n")); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestXifyFrontDocumentedExamples(t *testing.T) {
	got := maskOne(t, `[{"path":".name","type":"xifyFront","unmaskedLength":2}]`,
		`{"name":"top-level-name","age":42,"nicknames":[{"name":"hugo"},"egon"],"other":{"name":["emil",{"secret":"superman"}]}}`)
	want := `{"name":"xxxxxxxxxxxxme","age":42,"nicknames":[{"name":"xxgo"},"egon"],"other":{"name":["xxil",{"secret":"superman"}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = maskOne(t, `[{"path":"s","type":"xifyFront"},{"path":"b","type":"xifyFront"},{"path":"n","type":"xifyFront"},{"path":"z","type":"xifyFront"}]`,
		`{"s":"This is a test!Do you agree?","b":true,"n":1.23,"z":null}`)
	if want := `{"s":"xxis is a xxst Do xou xxxee ","b":"xxxx","n":"xxxx","z":null}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// hash: appended after a blank, stable for a given seed
	a := maskOne(t, `[{"path":"s","type":"xifyFront","hash":true,"seed":246781478647}]`, `{"s":"This is a test!Do you agree?"}`)
	b := maskOne(t, `[{"path":"s","type":"xifyFront","hash":true,"seed":246781478647}]`, `{"s":"This is a test!Do you agree?"}`)
	if a != b || !regexp.MustCompile(`^\{"s":"xxis is a xxst Do xou xxxee  [A-Za-z0-9+/]{11}="\}$`).MatchString(a) {
		t.Errorf("hashed xify: %s / %s", a, b)
	}
}

func TestMaskingPathsAndSystemAttributes(t *testing.T) {
	doc := `{"_key":"k1","_id":"c/k1","_rev":"_r","_from":"a/1","_to":"b/2","mail":["address one","address two",["address three"]],"person":{"name":"Ann","mail":{"x":"y"}},"name.with.dots":"dotted","big":1.7976931348623157e+308,"deep":{"a":{"name":"Bob"}}}`
	got := decode(t, maskOne(t, `[{"path":"mail","type":"xifyFront"},{"path":"person.name","type":"xifyFront","unmaskedLength":1},{"path":"`+"`name.with.dots`"+`","type":"xifyFront"},{"path":".name","type":"randomString"}]`, doc))
	if got["_key"] != "k1" || got["_id"] != "c/k1" || got["_from"] != "a/1" || got["_to"] != "b/2" || got["_rev"] != "_r" {
		t.Errorf("system attributes changed: %v", got)
	}
	if b, _ := json.Marshal(got["mail"]); string(b) != `["xxxxxss xne","xxxxxss xwo",["xxxxxss xxxee"]]` {
		t.Errorf("mail = %s", b)
	}
	p := got["person"].(map[string]any)
	if p["name"] != "xxn" {
		t.Errorf("person.name = %v (first matching rule wins)", p["name"])
	}
	if m := p["mail"].(map[string]any); m["x"] != "y" {
		t.Errorf("nested object under a masked path must not be masked: %v", m)
	}
	if got["name.with.dots"] != "xxxxed" {
		t.Errorf("quoted path: %v", got["name.with.dots"])
	}
	if got["big"] != json.Number("1.7976931348623157e+308") {
		t.Errorf("unmasked number changed: %v", got["big"])
	}
	if n := got["deep"].(map[string]any)["a"].(map[string]any)["name"].(string); n == "Bob" || len(n) != 12 {
		t.Errorf(".name at depth: %q", n)
	}
}

func TestMaskingFunctions(t *testing.T) {
	doc := `{"r":[null,true,7,-2.5,"hello",{"o":"nested"}],"zip":"SA34-ea","zipn":5,"phone":"+31 66-77-88-xx","phonen":null,"i":"x","d":true,"cc":1,"mail":"a@b.c","when":"x","str":12}`
	rules := `[
		{"path":"r","type":"random"},
		{"path":"zip","type":"zip"},{"path":"zipn","type":"zip","default":"abcdef"},
		{"path":"phone","type":"phone"},{"path":"phonen","type":"phone"},
		{"path":"i","type":"integer","lower":-5,"upper":5},
		{"path":"d","type":"decimal","lower":-0.3,"upper":0.3,"scale":3},
		{"path":"cc","type":"creditCard"},
		{"path":"mail","type":"email"},
		{"path":"when","type":"datetime","begin":"2019-01-01","end":"2019-12-31","format":"%yyyy-%mm-%dd"},
		{"path":"str","type":"randomString"}]`
	for round := 0; round < 30; round++ {
		got := decode(t, maskOne(t, rules, doc))
		r := got["r"].([]any)
		if r[0] != nil {
			t.Errorf("random null: %v", r[0])
		}
		if _, ok := r[1].(bool); !ok {
			t.Errorf("random bool: %v", r[1])
		}
		if n, ok := r[2].(json.Number); !ok || strings.Contains(string(n), ".") {
			t.Errorf("random integer: %v", r[2])
		} else if v, _ := n.Int64(); v < -1000 || v > 1000 {
			t.Errorf("random integer out of range: %v", v)
		}
		if n, ok := r[3].(json.Number); !ok {
			t.Errorf("random decimal: %v", r[3])
		} else if v, _ := n.Float64(); v < -1000 || v > 1000 {
			t.Errorf("random decimal out of range: %v", v)
		}
		if s, ok := r[4].(string); !ok || s == "hello" {
			t.Errorf("random string: %v", r[4])
		}
		if o := r[5].(map[string]any); o["o"] != "nested" {
			t.Errorf("object inside a masked array: only its own paths apply: %v", o)
		}
		if z := got["zip"].(string); !regexp.MustCompile(`^[A-Z]{2}[0-9]{2}-[a-z]{2}$`).MatchString(z) {
			t.Errorf("zip %q", z)
		}
		if got["zipn"] != "abcdef" || got["phonen"] != "+1234567890" {
			t.Errorf("defaults: zip %v phone %v", got["zipn"], got["phonen"])
		}
		if p := got["phone"].(string); !regexp.MustCompile(`^\+[0-9]{2} [0-9]{2}-[0-9]{2}-[0-9]{2}-[a-z]{2}$`).MatchString(p) {
			t.Errorf("phone %q", p)
		}
		if v, err := got["i"].(json.Number).Int64(); err != nil || v < -5 || v > 5 {
			t.Errorf("integer %v", got["i"])
		}
		ds := string(got["d"].(json.Number))
		if v, _ := strconv.ParseFloat(ds, 64); v < -0.3 || v > 0.3 || (strings.Contains(ds, ".") && len(ds[strings.Index(ds, ".")+1:]) > 3) {
			t.Errorf("decimal %s", ds)
		}
		cc := string(got["cc"].(json.Number))
		if len(cc) != 16 || !luhn(cc) {
			t.Errorf("credit card %s fails Luhn", cc)
		}
		if m := got["mail"].(string); !regexp.MustCompile(`^.{4}\..{4}@.{4}\.invalid$`).MatchString(m) {
			t.Errorf("email %q", m)
		}
		w, err := time.Parse("2006-01-02", got["when"].(string))
		if err != nil || w.Year() != 2019 {
			t.Errorf("datetime %v %v", got["when"], err)
		}
		if got["str"] != json.Number("12") {
			t.Errorf("randomString must leave non-strings: %v", got["str"])
		}
	}
}

func luhn(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestMaskingsFileErrors(t *testing.T) {
	for _, bad := range []string{
		`[]`,
		`{"c":{"type":"secret"}}`,
		`{"c":{}}`,
		`{"c":{"type":"masked","maskings":[{"path":"a","type":"nope"}]}}`,
		`{"c":{"type":"masked","maskings":[{"type":"zip"}]}}`,
		`{"c":{"type":"masked","maskings":[{"path":"a","type":"integer","lower":5,"upper":1}]}}`,
		`{"c":{"type":"masked","maskings":[{"path":"a","type":"datetime","begin":"yesterday"}]}}`,
	} {
		if _, err := ParseMaskings([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	m, err := ParseMaskings([]byte(`{"*":{"type":"structure"},"a":{"type":"full"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.For("a").Type != MaskFull || m.For("other").Type != MaskStructure || m.NewMasker("a") != nil {
		t.Error("fallback or full masking wrong")
	}
}

func TestDateFormat(t *testing.T) {
	tm := time.Date(2019, 6, 7, 8, 9, 10, 11e6, time.UTC)
	if got := dateFormat(tm, "%yyyy-%mm-%dd %hh:%ii:%ss.%fff %www %mmmm %q %%"); got != "2019-06-07 08:09:10.011 Fri June 2 %" {
		t.Errorf("got %q", got)
	}
}

func TestSeededMaskingsAreDeterministic(t *testing.T) {
	rules := `[{"path":"a","type":"integer"},{"path":"b","type":"randomString"},{"path":"c","type":"zip"},{"path":"d","type":"datetime"},{"path":"e","type":"creditCard"},{"path":"f","type":"random"},{"path":"g","type":"decimal"}]`
	text := `{"x":{"type":"masked","maskings":` + rules + `},"y":{"type":"masked","maskings":` + rules + `}}`
	doc := []byte(`{"a":7,"b":"secret","c":"50667","d":"2020-01-01","e":4111111111111111,"f":true,"g":1.5}` + "\n")
	mask := func(seed, coll string) string {
		m, err := ParseMaskings([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if seed != "" {
			m.SetSeed(seed)
		}
		var out bytes.Buffer
		if err := m.NewMasker(coll).MaskLines(&out, doc); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	a, b, c := mask("s1", "x"), mask("s1", "y"), mask("s2", "x")
	if a != b {
		t.Errorf("same seed, two runs and collections: %s / %s", a, b)
	}
	if a == c {
		t.Errorf("seeds s1 and s2 mask alike: %s", a)
	}
	if strings.Contains(a, "secret") || strings.Contains(a, "50667") {
		t.Errorf("not masked: %s", a)
	}
	// without a seed every run draws anew (arangodump's behaviour)
	if mask("", "x") == mask("", "x") {
		t.Errorf("unseeded maskings repeat themselves")
	}
	// the same value in two documents masks alike under a seed
	m, _ := ParseMaskings([]byte(text))
	m.SetSeed("s1")
	var out bytes.Buffer
	if err := m.NewMasker("x").MaskLines(&out, []byte(`{"a":7}`+"\n"+`{"a":7}`+"\n"+`{"a":8}`+"\n")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != lines[1] {
		t.Errorf("same value, different masks: %q", lines)
	}
}

func TestMaskerKeepStrictAndKeys(t *testing.T) {
	m, err := ParseMaskings([]byte(`{"c":{"type":"masked","maskings":[{"path":"_key","type":"randomString"},{"path":"name","type":"xifyFront"}]},"*":{"type":"full"}}`))
	if err != nil {
		t.Fatal(err)
	}
	m.SetSeed("k")
	mk := m.NewMaskerWith("c", MaskerOptions{Keep: [][]string{{"ref"}}, Strict: true})
	var out bytes.Buffer
	if err := mk.MaskLines(&out, []byte(`{"_key":"k1","name":"Alexander","ref":["a","b"],"other":{"x":1,"y":[2]},"ok":"v"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	d := decode(t, out.String())
	if d["name"] == "Alexander" || d["_key"] != "k1" || strings.Join([]string{d["ref"].([]any)[0].(string), d["ref"].([]any)[1].(string)}, ",") != "a,b" {
		t.Errorf("masked %s", out.String())
	}
	if got := strings.Join(mk.Uncovered(), ","); got != "ok,other.x,other.y" {
		t.Errorf("uncovered %q, want ok,other.x,other.y", got)
	}
	if m.KeyRule("c") == nil || m.KeyRule("d") != nil || !m.Named("c") || m.Named("d") {
		t.Errorf("KeyRule/Named")
	}
	k := m.MaskKey("k1")
	if k != m.MaskKey("k1") || k == m.MaskKey("k2") || !regexp.MustCompile(`^[A-Za-z0-9_-]{16}$`).MatchString(k) {
		t.Errorf("MaskKey %q", k)
	}
	// a masked collection without rules still gets a masker in strict mode
	m2, _ := ParseMaskings([]byte(`{"c":{"type":"masked","maskings":[]}}`))
	if mk := m2.NewMaskerWith("c", MaskerOptions{Strict: true}); mk == nil {
		t.Errorf("no strict masker for a masked collection without rules")
	}
}

func TestSeededDatetimeHasFixedEnd(t *testing.T) {
	m, _ := ParseMaskings([]byte(`{"c":{"type":"masked","maskings":[{"path":"d","type":"datetime","begin":"2024-12-31","format":"%z"}]}}`))
	m.SetSeed("d")
	var out bytes.Buffer
	if err := m.NewMasker("c").MaskLines(&out, []byte(`{"d":"x"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	got := decode(t, out.String())["d"].(string)
	ts, err := time.Parse("2006-01-02T15:04:05.000Z", got)
	if err != nil {
		t.Fatalf("seeded datetime %q: %v", got, err)
	}
	if ts.Before(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)) || ts.After(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("seeded datetime %s outside 2024-12-31 .. 2025-01-01", got)
	}
}
