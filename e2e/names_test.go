package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// TestExtendedNamesRoundTrip: a database and collections whose names hold characters that
// URLs escape ("+", "&", "%", "#", "?", spaces, non-ASCII; 3.12 extended names) dump and
// restore exactly, through a directory and through an archive pipe.
func TestExtendedNamesRoundTrip(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t) // a real server needs --database.extended-names true
	db := "ext+db & 1 %ä"
	tg.createDatabase(t, db)
	tg.dropAtEnd(t, db)
	c := tg.conn(t, db)
	names := []string{"price+tax & more %20", "q?#frag", "Ünïcode coll"}
	want := map[string]map[string]Doc{}
	for i, name := range names {
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": name}}, nil), "create "+name)
		sc := &seededCollection{Name: name, Type: 2, Docs: map[string]Doc{}}
		for j := 0; j < 50+i; j++ {
			k := "k" + strconv.Itoa(j)
			sc.Docs[k] = Doc{"_key": k, "n": json.Number(strconv.Itoa(j))}
		}
		insertDocs(t, c, sc)
		want[name] = sc.Docs
	}
	// the collection count through its escaped path (the request the tools also make)
	var cnt struct {
		Count int `json:"count"`
	}
	must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/collection/" + url.PathEscape(names[0]) + "/count"}, &cnt), "count")
	if cnt.Count != 50 {
		t.Fatalf("count of %q: %d", names[0], cnt.Count)
	}
	dir := filepath.Join(t.TempDir(), "d")
	mustRun(t, "godump", append(tg.serverArgs(db), "--output-directory", dir, "--progress", "false")...)
	dst := "ext+dst & 2 %ö"
	tg.dropAtEnd(t, dst)
	mustRun(t, "gorestore", append(tg.serverArgs(dst), dir, "--create-database", "true", "--progress", "false")...)
	dst2 := "ext+pipe #3"
	tg.dropAtEnd(t, dst2)
	dres, rres := pipeTools(t, append(tg.serverArgs(db), "--archive", "-", "--progress", "false"),
		append(tg.serverArgs(dst2), "--archive", "-", "--create-database", "true", "--progress", "false"))
	if dres.Code != 0 || rres.Code != 0 {
		t.Fatalf("pipe: godump %s\ngorestore %s", dres, rres)
	}
	for _, name := range names {
		compareDocs(t, "dump of "+name, want[name], dumpDocs(t, dir, name), "_rev", "_id")
		compareDocs(t, dst+"/"+name, want[name], serverDocs(t, tg, dst, name))
		compareDocs(t, dst2+"/"+name, want[name], serverDocs(t, tg, dst2, name))
	}
}
