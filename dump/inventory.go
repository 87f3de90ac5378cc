package dump

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/arangobackup/godump/client"
)

// inventory is the answer of /_api/replication/inventory (single server) or
// /_api/replication/clusterInventory (Coordinator).
type inventory struct {
	Collections []*invCollection  `json:"collections"`
	Views       []json.RawMessage `json:"views"`
	Properties  json.RawMessage   `json:"properties"`
	Tick        string            `json:"tick"`
}

// invCollection is one collection of the inventory: its raw definition and the fields the
// engine needs.
type invCollection struct {
	Parameters json.RawMessage `json:"parameters"`
	Indexes    json.RawMessage `json:"indexes"`

	info collectionInfo
}

type collectionInfo struct {
	Name                 string              `json:"name"`
	Type                 int                 `json:"type"`
	IsSystem             bool                `json:"isSystem"`
	Deleted              bool                `json:"deleted"`
	Shards               map[string][]string `json:"shards"`
	DistributeShardsLike string              `json:"distributeShardsLike"`
}

// shardNames returns the collection's shards in numeric order (s9 before s10).
func (c *invCollection) shardNames() []string {
	names := make([]string, 0, len(c.info.Shards))
	for s := range c.info.Shards {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) < len(names[j])
		}
		return names[i] < names[j]
	})
	return names
}

// structure returns what the collection's structure file holds: the inventory's
// parameters with shadowCollections removed (as arangodump does) and the indexes.
func (c *invCollection) structure() (json.RawMessage, []json.RawMessage, error) {
	params := c.Parameters
	if bytes.Contains(params, []byte(`"shadowCollections"`)) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(params, &m); err != nil {
			return nil, nil, fmt.Errorf("collection %s: parameters: %w", c.info.Name, err)
		}
		delete(m, "shadowCollections")
		b, err := json.Marshal(m)
		if err != nil {
			return nil, nil, err
		}
		params = b
	}
	var idx []json.RawMessage
	if t := bytes.TrimSpace(c.Indexes); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		if err := json.Unmarshal(t, &idx); err != nil {
			return nil, nil, fmt.Errorf("collection %s: indexes: %w", c.info.Name, err)
		}
	}
	return params, idx, nil
}

// parseInventory decodes an inventory answer.
func parseInventory(body []byte, what string) (*inventory, error) {
	var inv inventory
	if err := json.Unmarshal(body, &inv); err != nil {
		return nil, fmt.Errorf("%s: decode inventory: %w", what, err)
	}
	for i, c := range inv.Collections {
		if c == nil || len(c.Parameters) == 0 {
			return nil, fmt.Errorf("%s: inventory collection %d has no parameters", what, i)
		}
		if err := json.Unmarshal(c.Parameters, &c.info); err != nil {
			return nil, fmt.Errorf("%s: inventory collection %d: %w", what, i, err)
		}
		if c.info.Name == "" {
			return nil, fmt.Errorf("%s: inventory collection %d has no name", what, i)
		}
	}
	return &inv, nil
}

// isHiddenSmartCollection tells the Enterprise SmartGraph helper collections that
// arangodump skips unless --force.
func isHiddenSmartCollection(name string) bool {
	return strings.HasPrefix(name, "_local_") || strings.HasPrefix(name, "_from_") || strings.HasPrefix(name, "_to_")
}

// selection is the outcome of choosing collections: what to dump and the warnings to show.
type selection struct {
	Collections []*invCollection
	Warnings    []string
}

// selectCollections applies --include-system-collections, --collection,
// --ignore-collection, --force and the maskings to the inventory, as arangodump does.
func selectCollections(inv *inventory, o *Options, m *Maskings) (*selection, error) {
	want := map[string]bool{}
	for _, c := range o.Collections {
		want[c] = false
	}
	ignore := map[string]bool{}
	for _, c := range o.IgnoreCollections {
		ignore[c] = true
	}
	sel := &selection{}
	for _, c := range inv.Collections {
		name := c.info.Name
		if c.info.Deleted {
			continue
		}
		if (c.info.IsSystem || strings.HasPrefix(name, "_")) && !o.IncludeSystemCollections {
			continue
		}
		if isHiddenSmartCollection(name) && !o.Force {
			continue
		}
		if len(want) > 0 {
			if _, ok := want[name]; !ok {
				continue
			}
			want[name] = true
		}
		if ignore[name] {
			continue
		}
		if m != nil && m.For(name).Type == MaskExclude {
			continue
		}
		sel.Collections = append(sel.Collections, c)
	}
	if len(want) > 0 {
		found := 0
		for _, name := range o.Collections {
			if want[name] {
				found++
			} else {
				sel.Warnings = append(sel.Warnings, fmt.Sprintf("requested collection '%s' not found in database", name))
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("None of the requested collections were found in the database")
		}
		if !o.IgnoreDistributeShardsLikeErrors {
			chosen := map[string]bool{}
			for _, c := range sel.Collections {
				chosen[c.info.Name] = true
			}
			for _, c := range sel.Collections {
				if p := c.info.DistributeShardsLike; p != "" && !chosen[p] && !isNumeric(p) {
					return nil, fmt.Errorf("collection %s's shard distribution is based on that of collection %s, which is not dumped along; use --ignore-distribute-shards-like-errors to dump anyway", c.info.Name, p)
				}
			}
		}
	}
	return sel, nil
}

func isNumeric(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// countDocuments asks the server how many documents a collection holds (per shard with
// shards=true on a cluster). Failure is not fatal: the count only orders jobs and feeds
// the progress bars.
func countDocuments(ctx context.Context, conn *client.Conn, db, coll string, perShard bool) (total int64, shards map[string]int64) {
	q := url.Values{}
	if perShard {
		q.Set("details", "true")
	}
	var res struct {
		Count json.RawMessage `json:"count"`
	}
	err := conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Database: db,
		Path: "/_api/collection/" + url.PathEscape(coll) + "/count", Query: q}, &res)
	if err != nil {
		return 0, nil
	}
	var n int64
	if json.Unmarshal(res.Count, &n) == nil {
		return n, nil
	}
	var m map[string]int64
	if json.Unmarshal(res.Count, &m) == nil {
		for _, v := range m {
			n += v
		}
		return n, m
	}
	return 0, nil
}
