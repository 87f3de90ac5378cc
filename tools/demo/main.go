// Command demo is what `make demo` runs: it starts bin/arangotest with the sample database,
// dumps it with bin/godump, restores the dump into a fresh database with bin/gorestore,
// compares the two databases document by document (and their indexes, views and graphs), and
// prints what it did and how long each step took.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/arangobackup/godump/client"
)

const (
	sourceDB = "demo"
	targetDB = "demo_restored"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	bin, err := filepath.Abs("bin")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "godump-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dumpDir := filepath.Join(work, "dump")

	step("start arangotest with the sample database")
	t0 := time.Now()
	srv := exec.Command(filepath.Join(bin, "arangotest"), "--port", "0", "--seed", "demo")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start arangotest: %w", err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	endpoint, err := readEndpoint(stdout)
	if err != nil {
		return err
	}
	done(t0, "arangotest listening on %s", endpoint)

	ctx := context.Background()
	conn := func(db string) (*client.Conn, error) {
		o := client.DefaultOptions()
		o.Endpoints = []string{endpoint}
		o.Database = db
		return client.Connect(ctx, o)
	}
	src, err := conn(sourceDB)
	if err != nil {
		return err
	}
	counts, err := collectionCounts(ctx, src)
	if err != nil {
		return err
	}
	fmt.Printf("   database %q holds: %s\n", sourceDB, describeCounts(counts))

	server := []string{"--server.endpoint", endpoint, "--server.password", ""}
	step("dump database %q with godump", sourceDB)
	t0 = time.Now()
	if err := tool(filepath.Join(bin, "godump"), append(server, "--server.database", sourceDB, "--output-directory", dumpDir, "--threads", "2", "--include-system-collections", "true", "--progress", "false")...); err != nil {
		return err
	}
	size, files := dirSize(dumpDir)
	done(t0, "wrote %d files, %s, into %s", files, human(size), dumpDir)

	step("restore it into a new database %q with gorestore", targetDB)
	t0 = time.Now()
	if err := tool(filepath.Join(bin, "gorestore"), append(server, "--server.database", targetDB, "--create-database", "true", "--input-directory", dumpDir, "--threads", "2", "--include-system-collections", "true", "--progress", "false")...); err != nil {
		return err
	}
	done(t0, "restored")

	step("compare %q with %q", sourceDB, targetDB)
	t0 = time.Now()
	dst, err := conn(targetDB)
	if err != nil {
		return err
	}
	report, err := compare(ctx, src, dst, counts)
	if err != nil {
		return err
	}
	done(t0, "%s", report)
	fmt.Println("\nDemo complete: dump and restore are identical.")
	return nil
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

func done(t0 time.Time, format string, args ...any) {
	fmt.Printf("   "+format+" (%.2fs)\n", append(args, time.Since(t0).Seconds())...)
}

func readEndpoint(stdout interface{ Read([]byte) (int, error) }) (string, error) {
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(30*time.Second, func() {})
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "http://"); i >= 0 {
			ep := strings.Fields(line[i:])[0]
			go func() { // keep draining so the server never blocks on a full pipe
				for sc.Scan() {
				}
			}()
			return ep, nil
		}
	}
	return "", fmt.Errorf("arangotest did not print its endpoint")
}

func tool(path string, args ...string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("   $ %s %s\n", filepath.Base(path), strings.Join(quote(args), " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

type collInfo struct {
	Name  string `json:"name"`
	Type  int    `json:"type"`
	Count int64
}

func collectionCounts(ctx context.Context, c *client.Conn) ([]collInfo, error) {
	var res struct {
		Result []collInfo `json:"result"`
	}
	if err := c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/collection", Query: map[string][]string{"excludeSystem": {"true"}}}, &res); err != nil {
		return nil, err
	}
	for i := range res.Result {
		var cnt struct {
			Count int64 `json:"count"`
		}
		if err := c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/collection/" + res.Result[i].Name + "/count"}, &cnt); err != nil {
			return nil, err
		}
		res.Result[i].Count = cnt.Count
	}
	sort.Slice(res.Result, func(i, j int) bool { return res.Result[i].Name < res.Result[j].Name })
	return res.Result, nil
}

func describeCounts(cs []collInfo) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		kind := "documents"
		if c.Type == 3 {
			kind = "edges"
		}
		parts[i] = fmt.Sprintf("%s (%d %s)", c.Name, c.Count, kind)
	}
	return strings.Join(parts, ", ")
}

// compare checks every document, index, view, analyzer and graph of src against dst.
func compare(ctx context.Context, src, dst *client.Conn, colls []collInfo) (string, error) {
	docs, indexes, newRevs := 0, 0, 0
	for _, coll := range colls {
		a, err := allDocs(ctx, src, coll.Name)
		if err != nil {
			return "", err
		}
		b, err := allDocs(ctx, dst, coll.Name)
		if err != nil {
			return "", err
		}
		if len(a) != len(b) {
			return "", fmt.Errorf("collection %s: %d documents in %s, %d in %s", coll.Name, len(a), sourceDB, len(b), targetDB)
		}
		for k, da := range a {
			db, ok := b[k]
			if !ok {
				return "", fmt.Errorf("collection %s: document %q missing after restore", coll.Name, k)
			}
			// Every attribute counts, _key, _id, _from and _to included, except _rev: a
			// server gives every restored document a new revision (since 3.8;
			// RestReplicationHandler::parseBatchDump drops the dumped _rev), as with
			// arangorestore. Both must have one.
			ra, _ := da["_rev"].(string)
			rb, _ := db["_rev"].(string)
			if ra == "" || rb == "" {
				return "", fmt.Errorf("collection %s: document %q has no _rev (before %q, after %q)", coll.Name, k, ra, rb)
			}
			if ra != rb {
				newRevs++
			}
			delete(da, "_rev")
			delete(db, "_rev")
			if !reflect.DeepEqual(da, db) {
				return "", fmt.Errorf("collection %s: document %q differs after restore:\n  before: %s\n  after:  %s", coll.Name, k, jsonString(da), jsonString(db))
			}
		}
		docs += len(a)
		ka, err := keyOptions(ctx, src, coll.Name)
		if err != nil {
			return "", err
		}
		kb, err := keyOptions(ctx, dst, coll.Name)
		if err != nil {
			return "", err
		}
		if !reflect.DeepEqual(ka, kb) {
			return "", fmt.Errorf("collection %s: key generator differs after restore:\n  before: %s\n  after:  %s", coll.Name, jsonString(ka), jsonString(kb))
		}
		ia, err := indexSignatures(ctx, src, coll.Name)
		if err != nil {
			return "", err
		}
		ib, err := indexSignatures(ctx, dst, coll.Name)
		if err != nil {
			return "", err
		}
		if !reflect.DeepEqual(ia, ib) {
			return "", fmt.Errorf("collection %s: indexes differ after restore:\n  %v\n  %v", coll.Name, ia, ib)
		}
		indexes += len(ia)
	}
	var extras []string
	for _, what := range []struct{ path, field, label string }{
		{"/_api/view", "result", "views"},
		{"/_api/analyzer", "result", "analyzers"},
		{"/_api/gharial", "graphs", "graphs"},
	} {
		na, err := names(ctx, src, what.path, what.field)
		if err != nil {
			return "", err
		}
		nb, err := names(ctx, dst, what.path, what.field)
		if err != nil {
			return "", err
		}
		if !reflect.DeepEqual(na, nb) {
			return "", fmt.Errorf("%s differ after restore: %v vs %v", what.label, na, nb)
		}
		extras = append(extras, fmt.Sprintf("%d %s", len(na), what.label))
	}
	return fmt.Sprintf("%d collections, %d documents (keys, key generators, contents; %d got a new _rev, as a restore gives them), %d indexes, %s: all equal",
		len(colls), docs, newRevs, indexes, strings.Join(extras, ", ")), nil
}

// keyOptions is a collection's key generator state (type, allowUserKeys, increment, offset,
// lastValue), from GET /_api/collection/{name}/properties.
func keyOptions(ctx context.Context, c *client.Conn, coll string) (map[string]any, error) {
	var props struct {
		KeyOptions map[string]any `json:"keyOptions"`
	}
	if err := c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/collection/" + url.PathEscape(coll) + "/properties"}, &props); err != nil {
		return nil, fmt.Errorf("collection %s: properties: %w", coll, err)
	}
	return props.KeyOptions, nil
}

func allDocs(ctx context.Context, c *client.Conn, coll string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	var page struct {
		Result  []map[string]any `json:"result"`
		HasMore bool             `json:"hasMore"`
		ID      string           `json:"id"`
	}
	req := client.Request{Method: "POST", Path: "/_api/cursor", JSON: map[string]any{"query": "FOR d IN @@c RETURN d", "bindVars": map[string]any{"@c": coll}, "batchSize": 1000}}
	for {
		page.Result = nil
		if err := c.DoJSON(ctx, req, &page); err != nil {
			return nil, fmt.Errorf("read %s: %w", coll, err)
		}
		for _, d := range page.Result {
			out[fmt.Sprint(d["_key"])] = d
		}
		if !page.HasMore {
			return out, nil
		}
		req = client.Request{Method: "POST", Path: "/_api/cursor/" + page.ID}
	}
}

func indexSignatures(ctx context.Context, c *client.Conn, coll string) ([]string, error) {
	var res struct {
		Indexes []map[string]any `json:"indexes"`
	}
	if err := c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/index", Query: map[string][]string{"collection": {coll}}}, &res); err != nil {
		return nil, err
	}
	var out []string
	for _, idx := range res.Indexes {
		f, _ := json.Marshal(idx["fields"])
		out = append(out, fmt.Sprintf("%v %v %s unique=%v sparse=%v", idx["name"], idx["type"], f, idx["unique"], idx["sparse"]))
	}
	sort.Strings(out)
	return out, nil
}

func names(ctx context.Context, c *client.Conn, path, field string) ([]string, error) {
	var res map[string]json.RawMessage
	if err := c.DoJSON(ctx, client.Request{Method: "GET", Path: path}, &res); err != nil {
		return nil, err
	}
	var items []map[string]any
	if err := json.Unmarshal(res[field], &items); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	var out []string
	for _, it := range items {
		n := fmt.Sprint(it["name"])
		if n == "<nil>" {
			n = fmt.Sprint(it["_key"])
		}
		// Built-in analyzers exist in every database; only custom ones are dumped.
		if path == "/_api/analyzer" && !strings.Contains(n, "::") {
			continue
		}
		if i := strings.Index(n, "::"); i >= 0 {
			n = n[i+2:]
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func dirSize(dir string) (int64, int) {
	var size int64
	files := 0
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			size += info.Size()
			files++
		}
		return nil
	})
	return size, files
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
