package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// seedE2EData creates, in db, people (120, keys p0..p119, a city each), follows (people ->
// people, two out-edges each), cities (10) and a graph "net" over follows; people.cityId
// holds a cities key.
func seedE2EData(t *testing.T, tg *target, db string) {
	t.Helper()
	c := tg.conn(t, db)
	ctx := context.Background()
	mk := func(method, path string, body any) {
		t.Helper()
		if err := c.DoJSON(ctx, client.Request{Method: method, Database: db, Path: path, JSON: body}, nil); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	mk("POST", "/_api/collection", map[string]any{"name": "people"})
	mk("POST", "/_api/collection", map[string]any{"name": "cities"})
	mk("POST", "/_api/collection", map[string]any{"name": "follows", "type": 3})
	mk("POST", "/_api/collection", map[string]any{"name": "logs"})
	var people, follows, cities, logs []map[string]any
	for i := 0; i < 120; i++ {
		people = append(people, map[string]any{"_key": fmt.Sprintf("p%d", i), "name": fmt.Sprintf("Person %d", i), "email": fmt.Sprintf("p%d@example.com", i),
			"cityId": fmt.Sprintf("c%d", i%10), "level": i % 4})
		for _, j := range []int{(i + 1) % 120, (i * 5) % 120} {
			follows = append(follows, map[string]any{"_key": fmt.Sprintf("f%d_%d", i, j), "_from": fmt.Sprintf("people/p%d", i), "_to": fmt.Sprintf("people/p%d", j)})
		}
	}
	for i := 0; i < 10; i++ {
		cities = append(cities, map[string]any{"_key": fmt.Sprintf("c%d", i), "name": fmt.Sprintf("City %d", i)})
		logs = append(logs, map[string]any{"n": i})
	}
	mk("POST", "/_api/document/people", people)
	mk("POST", "/_api/document/follows", follows)
	mk("POST", "/_api/document/cities", cities)
	mk("POST", "/_api/document/logs", logs)
	mk("POST", "/_api/gharial", map[string]any{"name": "net", "edgeDefinitions": []map[string]any{{"collection": "follows", "from": []string{"people"}, "to": []string{"people"}}}})
}

type seedReportJSON struct {
	OK          bool `json:"ok"`
	ExitCode    int  `json:"exitCode"`
	Collections []struct {
		Name      string `json:"name"`
		Documents int64  `json:"documents"`
		Reasons   []struct {
			Why       string `json:"why"`
			Documents int64  `json:"documents"`
		} `json:"reasons"`
	} `json:"collections"`
}

func seedDataLines(t *testing.T, dir, coll string) []map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, coll+"_*.data.json"))
	if len(files) != 1 {
		t.Fatalf("%s: data files of %s: %v", dir, coll, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: %v", files[0], err)
		}
		out = append(out, d)
	}
	return out
}

func TestSeedExportCommand(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	db := uniqueDB(t, "seed")
	tg.createDatabase(t, db)
	seedE2EData(t, tg, db)
	work := t.TempDir()
	maskings := filepath.Join(work, "maskings.json")
	if err := os.WriteFile(maskings, []byte(`{"people":{"type":"masked","maskings":[{"path":"_key","type":"randomString"},{"path":"name","type":"xifyFront"},{"path":"email","type":"email"}]},
		"follows":{"type":"full"},"cities":{"type":"full"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(work, "seed.json")
	if err := os.WriteFile(config, []byte(`{"collections":{"people":{"sample":8}},"graphs":[{"graph":"net","direction":"out","depth":2}],
		"references":[{"from":"people.cityId","to":"cities"}],"maskings":"`+maskings+`","seed":"e2e","strictMaskings":true,"unmasked":{"people":["level"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, extra ...string) result {
		args := append(tg.serverArgs(db), "--output-directory", dir, "--config-file", config, "--json", "true")
		return runTool(t, "godump", append(append([]string{"seed"}, args...), extra...)...)
	}
	a, b := filepath.Join(work, "a"), filepath.Join(work, "b")
	res := run(a)
	if res.Code != 0 {
		t.Fatalf("godump seed: %s", res)
	}
	var rep seedReportJSON
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || !rep.OK {
		t.Fatalf("report: %v\n%s", err, res)
	}
	counts := map[string]int64{}
	for _, c := range rep.Collections {
		counts[c.Name] = c.Documents
		if c.Name == "people" && (len(c.Reasons) == 0 || c.Reasons[0].Why != "sampled 8 of 120" || c.Reasons[0].Documents != 8) {
			t.Errorf("people reasons: %+v", c.Reasons)
		}
	}
	if _, ok := counts["logs"]; ok {
		t.Errorf("logs exported: %v", counts)
	}
	people := map[string]map[string]any{}
	for _, p := range seedDataLines(t, a, "people") {
		people[p["_key"].(string)] = p
		if strings.HasPrefix(p["name"].(string), "Person") || len(p["_key"].(string)) != 16 {
			t.Errorf("person not masked: %v", p)
		}
	}
	cities := map[string]bool{}
	for _, c := range seedDataLines(t, a, "cities") {
		cities[c["_key"].(string)] = true
	}
	edges := seedDataLines(t, a, "follows")
	if int64(len(people)) != counts["people"] || int64(len(edges)) != counts["follows"] || int64(len(cities)) != counts["cities"] || len(edges) < 8 {
		t.Fatalf("files: %d people, %d follows, %d cities; report %v", len(people), len(edges), len(cities), counts)
	}
	for _, e := range edges {
		for _, end := range []string{e["_from"].(string), e["_to"].(string)} {
			if people[strings.TrimPrefix(end, "people/")] == nil {
				t.Errorf("edge %v: %s not in the export", e["_key"], end)
			}
		}
	}
	for k, p := range people {
		if !cities[p["cityId"].(string)] {
			t.Errorf("person %s: cityId %v not in the export", k, p["cityId"])
		}
	}

	// a second run writes the same bytes
	if res := run(b); res.Code != 0 {
		t.Fatalf("second run: %s", res)
	}
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) {
		t.Fatalf("%d and %d files", len(ea), len(eb))
	}
	for i := range ea {
		x, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
		y, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if ea[i].Name() != eb[i].Name() || !bytes.Equal(x, y) {
			t.Errorf("%s / %s differ between two runs", ea[i].Name(), eb[i].Name())
		}
	}

	// gorestore restores it into a fresh database with the counts reported
	fresh := uniqueDB(t, "seedfresh")
	tg.dropAtEnd(t, fresh)
	mustRun(t, "gorestore", append(tg.serverArgs(fresh), "--create-database", "true", "--input-directory", a)...)
	c := tg.conn(t, "_system")
	for name, want := range counts {
		var cnt struct {
			Count int64 `json:"count"`
		}
		if err := c.DoJSON(context.Background(), client.Request{Method: "GET", Database: fresh, Path: "/_api/collection/" + name + "/count"}, &cnt); err != nil {
			t.Fatal(err)
		}
		if cnt.Count != want {
			t.Errorf("restored %s: %d documents, reported %d", name, cnt.Count, want)
		}
	}

	// bad configurations exit 2 with a clear message
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--sample", "nosuch=3"}, "collection nosuch not found"},
		{[]string{"--sample", "people=0.0"}, "fraction must be above 0"},
		{[]string{"--graph", "nograph:out:1"}, "graph nograph: not found"},
		{[]string{"--others", "some"}, `others "some"`},
		{[]string{"--unmasked", "people=zzz", "--strict-maskings", "true", "--config-file", filepath.Join(work, "missing.json")}, "missing.json"},
	} {
		res := run(filepath.Join(work, "bad"), bad.args...)
		if res.Code != 2 || !strings.Contains(res.Stderr+res.Stdout, bad.want) {
			t.Errorf("%v: want exit 2 and %q, got %s", bad.args, bad.want, res)
		}
	}
	// strict maskings: without "unmasked", people.level is covered by no rule
	strictCfg := filepath.Join(work, "strict.json")
	b2, _ := os.ReadFile(config)
	_ = os.WriteFile(strictCfg, bytes.Replace(b2, []byte(`"unmasked":{"people":["level"]}`), []byte(`"unmasked":{}`), 1), 0o600)
	res = runTool(t, "godump", append(append([]string{"seed"}, tg.serverArgs(db)...), "--output-directory", filepath.Join(work, "strict"), "--config-file", strictCfg)...)
	if res.Code != 2 || !strings.Contains(res.Stderr, "collection people: attribute(s) level covered by no masking rule") {
		t.Errorf("strict maskings: %s", res)
	}
}
