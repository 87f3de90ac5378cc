package arangotest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"time"
)

// Demo data set sizes.
const (
	demoCustomers = 2000
	demoProducts  = 500
	demoPurchases = 3000
	demoSessions  = 200
)

// SeedDemo loads a small but varied database named "demo": document and edge collections with
// unicode values, several index types (persistent unique and sparse, ttl, geo, fulltext,
// inverted), an arangosearch and a search-alias view, a custom analyzer and a named graph.
// It is deterministic (fixed random seed) apart from revisions.
func (s *Server) SeedDemo(ctx context.Context) error {
	if err := s.CreateDatabase("demo"); err != nil {
		return fmt.Errorf("seed demo: create database: %w", err)
	}
	db := s.store.Database("demo")
	rnd := rand.New(rand.NewSource(42))
	mk := func(name string, typ int, keyOpts string) (*Collection, error) {
		params := fmt.Sprintf(`{"name":%q,"type":%d,"keyOptions":%s}`, name, typ, keyOpts)
		c, err := db.CreateCollectionFromParams([]byte(params), false)
		if err != nil {
			return nil, fmt.Errorf("seed demo: create collection %s: %w", name, err)
		}
		return c, nil
	}
	customers, err := mk("customers", 2, `{"type":"traditional","allowUserKeys":true}`)
	if err != nil {
		return err
	}
	products, err := mk("products", 2, `{"type":"autoincrement","allowUserKeys":true,"increment":1,"offset":1}`)
	if err != nil {
		return err
	}
	purchases, err := mk("purchases", 3, `{"type":"traditional","allowUserKeys":true}`)
	if err != nil {
		return err
	}
	sessions, err := mk("sessions", 2, `{"type":"uuid","allowUserKeys":true}`)
	if err != nil {
		return err
	}
	index := func(c *Collection, def string) error {
		if _, _, err := c.EnsureIndex([]byte(def)); err != nil {
			return fmt.Errorf("seed demo: index on %s %s: %w", c.Name, def, err)
		}
		return nil
	}
	for _, ix := range []struct {
		c   *Collection
		def string
	}{
		{customers, `{"type":"persistent","name":"byEmail","fields":["email"],"unique":true}`},
		{customers, `{"type":"persistent","name":"byNickname","fields":["nickname"],"sparse":true}`},
		{customers, `{"type":"geo","name":"byLocation","fields":["location"],"geoJson":true}`},
		{products, `{"type":"fulltext","name":"byDescription","fields":["description"],"minLength":3}`},
		{products, `{"type":"inverted","name":"productsInverted","fields":["name",{"name":"description","analyzer":"text_en"}]}`},
		{products, `{"type":"persistent","name":"byCategoryPrice","fields":["category","price"]}`},
		{sessions, `{"type":"ttl","name":"expiry","fields":["expiresAt"],"expireAfter":0}`},
	} {
		if err := index(ix.c, ix.def); err != nil {
			return err
		}
	}
	first := []string{"Ana", "Björn", "Chloé", "Dmitrij", "Émile", "Fatma", "Günther", "Håkon", "Işık", "José", "Kōji", "Łukasz", "Míng", "Nuño", "Øystein", "Zoë", "Анна", "محمد", "山田", "Σοφία"}
	last := []string{"Müller", "García", "Nørgaard", "Smith", "Öztürk", "Dvořák", "Ñúñez", "Żółć", "Иванов", "李", "O'Brien", "van der Berg"}
	keyChars := []string{"", ":x", "@home", "(a)", "+1", "=eq", "$", "!", "%41"}
	for i := 0; i < demoCustomers; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		fn, ln := first[rnd.Intn(len(first))], last[rnd.Intn(len(last))]
		doc := map[string]any{
			"_key":     fmt.Sprintf("c%05d%s", i, keyChars[i%len(keyChars)]),
			"name":     fn + " " + ln,
			"email":    fmt.Sprintf("customer%d@example.com", i),
			"age":      18 + rnd.Intn(70),
			"vip":      i%17 == 0,
			"tags":     []string{"tag" + fmt.Sprint(i%7), "ñ", "日本"},
			"location": map[string]any{"type": "Point", "coordinates": []float64{-180 + rnd.Float64()*360, -90 + rnd.Float64()*180}},
			"address":  map[string]any{"city": []string{"Köln", "São Paulo", "Zürich", "Москва", "東京"}[i%5], "zip": fmt.Sprintf("%05d", rnd.Intn(99999))},
		}
		if i%3 == 0 {
			doc["nickname"] = fmt.Sprintf("nick-%d-✓", i)
		}
		if err := customers.RestoreDocument(mustJSON(doc)); err != nil {
			return fmt.Errorf("seed demo: customers: %w", err)
		}
	}
	cats := []string{"books", "music", "garden", "électronique", "玩具"}
	for i := 1; i <= demoProducts; i++ {
		doc := map[string]any{
			"_key":        fmt.Sprint(i),
			"name":        fmt.Sprintf("Product %d – %s", i, []string{"deluxe", "basic", "größer", "минимум"}[i%4]),
			"category":    cats[i%len(cats)],
			"price":       float64(rnd.Intn(100000)) / 100,
			"description": fmt.Sprintf("A wonderful %s item number %d with unicode ✓ and quotes \"q\"", cats[i%len(cats)], i),
			"stock":       rnd.Intn(50),
		}
		if err := products.RestoreDocument(mustJSON(doc)); err != nil {
			return fmt.Errorf("seed demo: products: %w", err)
		}
	}
	for i := 0; i < demoPurchases; i++ {
		ci := rnd.Intn(demoCustomers)
		doc := map[string]any{
			"_from":    fmt.Sprintf("customers/c%05d%s", ci, keyChars[ci%len(keyChars)]),
			"_to":      fmt.Sprintf("products/%d", 1+rnd.Intn(demoProducts)),
			"quantity": 1 + rnd.Intn(5),
			"date":     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
		}
		if err := purchases.RestoreDocument(mustJSON(map[string]any{"_key": fmt.Sprint(100000 + i), "_from": doc["_from"],
			"_to": doc["_to"], "quantity": doc["quantity"], "date": doc["date"]})); err != nil {
			return fmt.Errorf("seed demo: purchases: %w", err)
		}
	}
	far := time.Now().Add(10 * 365 * 24 * time.Hour).Unix()
	for i := 0; i < demoSessions; i++ {
		doc := map[string]any{"_key": newUUID(), "user": fmt.Sprintf("customers/c%05d", i), "expiresAt": far + int64(i)}
		if err := sessions.RestoreDocument(mustJSON(doc)); err != nil {
			return fmt.Errorf("seed demo: sessions: %w", err)
		}
	}
	// Custom analyzer (stored in _analyzers like on a real server).
	an := map[string]any{"_key": "demo_delimiter", "name": "demo_delimiter", "type": "delimiter",
		"properties": map[string]any{"delimiter": ","}, "features": []string{"frequency", "norm"}, "revision": 0}
	if err := db.Collection("_analyzers").RestoreDocument(mustJSON(an)); err != nil {
		return fmt.Errorf("seed demo: analyzer: %w", err)
	}
	var view map[string]any
	_ = json.Unmarshal([]byte(`{"name":"productsView","type":"arangosearch","links":{"products":{"analyzers":["identity","demo_delimiter"],
		"fields":{"name":{"analyzers":["text_en"]},"description":{}},"includeAllFields":false,"storeValues":"id"}},
		"primarySort":[{"field":"price","direction":"desc"}],"storedValues":[{"fields":["name"],"compression":"lz4"}]}`), &view)
	if _, err := db.createView(view, false, false); err != nil {
		return fmt.Errorf("seed demo: arangosearch view: %w", err)
	}
	alias := map[string]any{"name": "productsAlias", "type": "search-alias",
		"indexes": []any{map[string]any{"collection": "products", "index": "productsInverted"}}}
	if _, err := db.createView(alias, false, false); err != nil {
		return fmt.Errorf("seed demo: search-alias view: %w", err)
	}
	if _, _, err := s.createGraph(db, "shop", []edgeDef{{Collection: "purchases", From: []string{"customers"}, To: []string{"products"}}},
		[]string{"sessions"}, nil); err != nil {
		return fmt.Errorf("seed demo: graph: %w", err)
	}
	return nil
}
