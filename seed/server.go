package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/arangobackup/godump/client"
)

// The server calls of a seed export (client/WIRE.md, "Seed export").

// collInfo is one collection of the inventory.
type collInfo struct {
	Name       string
	Type       int // 2 document, 3 edge
	IsSystem   bool
	Parameters json.RawMessage
	Indexes    []json.RawMessage
}

type inventory struct {
	collections map[string]*collInfo
	properties  json.RawMessage
}

// readInventory reads the collections' definitions and indexes, as the dump does.
func (x *exporter) readInventory(ctx context.Context) (*inventory, error) {
	q := url.Values{}
	q.Set("includeSystem", "false")
	path := "/_api/replication/inventory"
	if x.conn.IsCluster() {
		path = "/_api/replication/clusterInventory"
	} else {
		// a single server answers the inventory within a replication batch, as for arangodump
		id, err := x.createBatch(ctx)
		if err != nil {
			return nil, fmt.Errorf("database %s: inventory: %w", x.db, err)
		}
		defer x.deleteBatch(ctx, id)
		q.Set("batchId", id)
	}
	var res struct {
		Collections []struct {
			Parameters json.RawMessage `json:"parameters"`
			Indexes    json.RawMessage `json:"indexes"`
		} `json:"collections"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := x.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Database: x.db, Path: path, Query: q}, &res); err != nil {
		return nil, fmt.Errorf("database %s: inventory: %w", x.db, err)
	}
	inv := &inventory{collections: map[string]*collInfo{}, properties: res.Properties}
	for i, c := range res.Collections {
		var p struct {
			Name     string `json:"name"`
			Type     int    `json:"type"`
			IsSystem bool   `json:"isSystem"`
			Deleted  bool   `json:"deleted"`
		}
		if err := json.Unmarshal(c.Parameters, &p); err != nil || p.Name == "" {
			return nil, fmt.Errorf("database %s: inventory collection %d has no name", x.db, i)
		}
		if p.Deleted || p.IsSystem || strings.HasPrefix(p.Name, "_") {
			continue
		}
		ci := &collInfo{Name: p.Name, Type: p.Type, Parameters: dropShadow(c.Parameters)}
		if t := bytes.TrimSpace(c.Indexes); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
			if err := json.Unmarshal(t, &ci.Indexes); err != nil {
				return nil, fmt.Errorf("database %s: collection %s: indexes: %w", x.db, p.Name, err)
			}
		}
		inv.collections[p.Name] = ci
	}
	return inv, nil
}

// createBatch makes a replication batch for the inventory (POST /_api/replication/batch).
func (x *exporter) createBatch(ctx context.Context) (string, error) {
	q := url.Values{"serverId": {x.clientID}}
	var res struct {
		ID string `json:"id"`
	}
	req := client.Request{Method: http.MethodPost, Database: x.db, Path: "/_api/replication/batch", Query: q, JSON: map[string]int{"ttl": 300}}
	if err := x.conn.DoJSON(ctx, req, &res); err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", fmt.Errorf("%s: answer has no batch id", req.What(x.db))
	}
	return res.ID, nil
}

// deleteBatch frees the batch; errors are ignored (it expires anyway).
func (x *exporter) deleteBatch(ctx context.Context, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = x.conn.Do(dctx, client.Request{Method: http.MethodDelete, Database: x.db, Path: "/_api/replication/batch/" + url.PathEscape(id),
		Query: url.Values{"serverId": {x.clientID}}})
}

// dropShadow removes shadowCollections from the parameters, as arangodump does.
func dropShadow(params json.RawMessage) json.RawMessage {
	if !bytes.Contains(params, []byte(`"shadowCollections"`)) {
		return params
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(params, &m) != nil {
		return params
	}
	delete(m, "shadowCollections")
	b, err := json.Marshal(m)
	if err != nil {
		return params
	}
	return b
}

// graphEdges returns the edge definitions of a named graph (GET /_api/gharial/{graph}).
func (x *exporter) graphEdges(ctx context.Context, name string) ([]edgeDefinition, error) {
	var res struct {
		Graph struct {
			EdgeDefinitions []edgeDefinition `json:"edgeDefinitions"`
		} `json:"graph"`
	}
	err := x.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Database: x.db, Path: "/_api/gharial/" + url.PathEscape(name)}, &res)
	if client.IsStatus(err, http.StatusNotFound) {
		return nil, configErr("graph %s: not found in database %s", name, x.db)
	}
	if err != nil {
		return nil, fmt.Errorf("database %s: graph %s: %w", x.db, name, err)
	}
	return res.Graph.EdgeDefinitions, nil
}

type edgeDefinition struct {
	Collection string   `json:"collection"`
	From       []string `json:"from"`
	To         []string `json:"to"`
}

// fastJSON decodes the few attributes the export needs from a document, skipping the rest
// without building it.
var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// rank is the keyed hash that orders documents for sampling and fan-out caps: the first
// 8 bytes (big-endian) of SHA-256(seed, 0, collection, 0, key).
func rank(seed, coll, key string) uint64 {
	h := sha256.New()
	h.Write([]byte(seed))
	h.Write([]byte{0})
	h.Write([]byte(coll))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [32]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// scanKeys streams the keys of a collection (with the filter's conditions) through an AQL
// cursor and calls fn for each; only keys cross the wire.
func (x *exporter) scanKeys(ctx context.Context, coll string, filter []Condition, fn func(key string)) error {
	var q strings.Builder
	q.WriteString("FOR d IN @@coll")
	bind := map[string]any{"@coll": coll}
	for i, c := range filter {
		if i == 0 {
			q.WriteString(" FILTER ")
		} else {
			q.WriteString(" && ")
		}
		q.WriteString("d")
		for _, p := range c.Path {
			q.WriteString(".`" + p + "`")
		}
		v := "v" + strconv.Itoa(i)
		q.WriteString(" == @" + v)
		bind[v] = c.Value
	}
	q.WriteString(" RETURN d._key")
	what := fmt.Sprintf("database %s: collection %s: scan keys", x.db, coll)
	return x.query(ctx, what, q.String(), bind, func(raw json.RawMessage) error {
		var k string
		if err := json.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fn(k)
		return nil
	})
}

// queryEdges returns the edges of an edge collection whose attr (_from or _to) is one of ids:
// one AQL query, which the server answers from its edge index.
func (x *exporter) queryEdges(ctx context.Context, coll, attr string, ids []string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	what := fmt.Sprintf("database %s: edge collection %s: edges by %s of %d vertices", x.db, coll, attr, len(ids))
	err := x.query(ctx, what, "FOR e IN @@coll FILTER e."+attr+" IN @ids RETURN e", map[string]any{"@coll": coll, "ids": ids},
		func(raw json.RawMessage) error {
			out = append(out, raw)
			return nil
		})
	return out, err
}

// query runs an AQL query with a cursor (POST /_api/cursor, then POST /_api/cursor/{id}
// while hasMore) and calls fn for each result.
func (x *exporter) query(ctx context.Context, what, aql string, bind map[string]any, fn func(json.RawMessage) error) error {
	var page struct {
		Result  []json.RawMessage `json:"result"`
		HasMore bool              `json:"hasMore"`
		ID      string            `json:"id"`
	}
	err := x.conn.DoJSON(ctx, client.Request{Method: http.MethodPost, Database: x.db, Path: "/_api/cursor",
		JSON: map[string]any{"query": aql, "bindVars": bind, "batchSize": 10000, "options": map[string]any{"stream": true}}}, &page)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	x.requests.Add(1)
	for {
		for _, r := range page.Result {
			if err := fn(r); err != nil {
				x.dropCursor(page.ID)
				return err
			}
		}
		if !page.HasMore {
			return nil
		}
		if err := ctx.Err(); err != nil {
			x.dropCursor(page.ID)
			return err
		}
		id := page.ID
		page.Result = nil
		if err := x.conn.DoJSON(ctx, client.Request{Method: http.MethodPost, Database: x.db, Path: "/_api/cursor/" + url.PathEscape(id)}, &page); err != nil {
			x.dropCursor(id)
			return fmt.Errorf("%s: next batch: %w", what, err)
		}
		x.requests.Add(1)
	}
}

func (x *exporter) dropCursor(id string) {
	if id == "" {
		return
	}
	_, _ = x.conn.Do(context.Background(), client.Request{Method: http.MethodDelete, Database: x.db, Path: "/_api/cursor/" + url.PathEscape(id)})
}

// readDocuments fetches documents by key with the batch document read and returns them by
// key; keys the collection does not hold are absent from the map.
func (x *exporter) readDocuments(ctx context.Context, coll string, keys []string) (map[string]json.RawMessage, error) {
	var res []json.RawMessage
	q := url.Values{"onlyget": {"true"}}
	err := x.conn.DoJSON(ctx, client.Request{Method: http.MethodPut, Database: x.db, Path: "/_api/document/" + url.PathEscape(coll), Query: q, JSON: keys}, &res)
	if err != nil {
		return nil, fmt.Errorf("database %s: collection %s: read %d document(s) by key: %w", x.db, coll, len(keys), err)
	}
	x.requests.Add(1)
	if len(res) != len(keys) {
		return nil, fmt.Errorf("database %s: collection %s: read %d document(s) by key: %d answers", x.db, coll, len(keys), len(res))
	}
	out := make(map[string]json.RawMessage, len(keys))
	for i, r := range res {
		var d struct {
			Key      string `json:"_key"`
			Error    bool   `json:"error"`
			ErrorNum int    `json:"errorNum"`
			Message  string `json:"errorMessage"`
		}
		if err := fastJSON.Unmarshal(r, &d); err != nil {
			return nil, fmt.Errorf("database %s: collection %s: document %s: %w", x.db, coll, keys[i], err)
		}
		if d.Error {
			if d.ErrorNum == 1202 {
				continue
			}
			return nil, fmt.Errorf("database %s: collection %s: document %s: error %d: %s", x.db, coll, keys[i], d.ErrorNum, d.Message)
		}
		out[d.Key] = r
	}
	return out, nil
}
