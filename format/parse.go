package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ParseDumpJSON parses dump.json (any version: 2.x files hold only database
// and lastTickAtDumpStart). Errors wrap ErrInvalidJSON.
func ParseDumpJSON(b []byte) (*DumpMeta, error) {
	var raw map[string]json.RawMessage
	if err := strictObject(b, &raw); err != nil {
		return nil, err
	}
	m := &DumpMeta{Raw: append(json.RawMessage(nil), b...)}
	if v, ok := raw["database"]; ok {
		if err := json.Unmarshal(v, &m.Database); err != nil {
			return nil, fmt.Errorf("%w: database: %w", ErrInvalidJSON, err)
		}
	}
	if v, ok := raw["createdAt"]; ok {
		if err := json.Unmarshal(v, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("%w: createdAt: %w", ErrInvalidJSON, err)
		}
	}
	if v, ok := raw["lastTickAtDumpStart"]; ok {
		s, ok := jsonString(bytes.TrimSpace(v))
		if !ok && string(v) != "null" {
			return nil, fmt.Errorf("%w: lastTickAtDumpStart is not a string or number", ErrInvalidJSON)
		}
		m.LastTickAtDumpStart = s
	}
	if v, ok := raw["useEnvelope"]; ok {
		if err := json.Unmarshal(v, &m.UseEnvelope); err != nil {
			return nil, fmt.Errorf("%w: useEnvelope: %w", ErrInvalidJSON, err)
		}
		m.HasUseEnvelope = true
	}
	if v, ok := raw["useVPack"]; ok {
		if err := json.Unmarshal(v, &m.UseVPack); err != nil {
			return nil, fmt.Errorf("%w: useVPack: %w", ErrInvalidJSON, err)
		}
	}
	if v, ok := raw["properties"]; ok && string(v) != "null" {
		if len(v) == 0 || v[0] != '{' {
			return nil, fmt.Errorf("%w: properties is not an object", ErrInvalidJSON)
		}
		m.Properties = v
	}
	return m, nil
}

// strictObject unmarshals a JSON object, reporting errors wrapped in
// ErrInvalidJSON (keeping *json.SyntaxError reachable for the line number).
func strictObject(b []byte, v *map[string]json.RawMessage) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		if !json.Valid(b) {
			var x any
			err := json.Unmarshal(b, &x)
			return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
		}
		return fmt.Errorf("%w: not a JSON object", ErrInvalidJSON)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	return nil
}

// ParseStructure parses a *.structure.json file: {"parameters":{...},
// "indexes":[...]}, or the pre-3.x form with the indexes in
// parameters.indexes. A missing collection name is ErrNoName; a name that
// could leave the directory is ErrUnsafeName.
func ParseStructure(b []byte) (*Collection, error) {
	var raw map[string]json.RawMessage
	if err := strictObject(b, &raw); err != nil {
		return nil, err
	}
	params, ok := raw["parameters"]
	if !ok || len(params) == 0 || params[0] != '{' {
		return nil, fmt.Errorf("%w: no \"parameters\" object", ErrNoName)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("%w: parameters: %w", ErrInvalidJSON, err)
	}
	c := &Collection{Structure: append(json.RawMessage(nil), b...), Parameters: params, Type: TypeDocument}
	if v, ok := p["name"]; ok {
		if err := json.Unmarshal(v, &c.Name); err != nil {
			return nil, fmt.Errorf("%w: parameters.name is not a string", ErrNoName)
		}
	}
	if c.Name == "" {
		return nil, ErrNoName
	}
	if !safeName(c.Name) {
		return nil, fmt.Errorf("%w: collection name %q", ErrUnsafeName, truncate(c.Name, 80))
	}
	if v, ok := p["type"]; ok && string(v) != "null" {
		s, ok := jsonString(v)
		t, err := strconv.Atoi(s)
		if !ok || err != nil || (t != TypeDocument && t != TypeEdge) {
			return nil, fmt.Errorf("%w: collection %q: parameters.type %s is not 2 or 3", ErrInvalidJSON, c.Name, truncate(string(v), 20))
		}
		c.Type = t
	}
	if v, ok := p["isSystem"]; ok {
		_ = json.Unmarshal(v, &c.IsSystem)
	}
	if c.Name[0] == '_' {
		c.IsSystem = true
	}
	if v, ok := p["cid"]; ok {
		c.ID, _ = jsonString(v)
	}
	if v, ok := p["id"]; ok && c.ID == "" {
		c.ID, _ = jsonString(v)
	}
	if c.ID != "" && !safeFileStem(c.ID) {
		return nil, fmt.Errorf("%w: collection id %q", ErrUnsafeName, truncate(c.ID, 80))
	}
	if v, ok := p["distributeShardsLike"]; ok {
		_ = json.Unmarshal(v, &c.DistributeShardsLike)
	}
	if v, ok := p["numberOfShards"]; ok {
		if s, ok := jsonString(v); ok {
			c.NumberOfShards, _ = strconv.Atoi(s)
		}
	}
	if v, ok := p["replicationFactor"]; ok {
		c.ReplicationFactor, _ = jsonString(v)
	}
	for _, k := range []string{"minReplicationFactor", "writeConcern"} {
		if v, ok := p[k]; ok {
			if s, ok := jsonString(v); ok {
				if n, err := strconv.Atoi(s); err == nil {
					c.WriteConcern = n
				}
			}
		}
	}
	if v, ok := p["shardKeys"]; ok {
		_ = json.Unmarshal(v, &c.ShardKeys)
	}
	// Indexes: top level, else pre-3.x parameters.indexes.
	idx := raw["indexes"]
	if len(idx) == 0 || string(idx) == "null" || string(bytes.TrimSpace(idx)) == "[]" {
		if v, ok := p["indexes"]; ok {
			idx = v
		}
	}
	if len(idx) > 0 && string(idx) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(idx, &list); err != nil {
			return nil, fmt.Errorf("%w: collection %q: indexes is not an array", ErrInvalidJSON, c.Name)
		}
		for i, ix := range list {
			var d struct {
				Type string `json:"type"`
			}
			if len(ix) == 0 || ix[0] != '{' {
				return nil, fmt.Errorf("%w: collection %q: index %d is not an object", ErrInvalidJSON, c.Name, i)
			}
			if err := json.Unmarshal(ix, &d); err != nil {
				return nil, fmt.Errorf("%w: collection %q: index %d: type is not a string", ErrInvalidJSON, c.Name, i)
			}
			if d.Type == "primary" || d.Type == "edge" {
				continue
			}
			c.Indexes = append(c.Indexes, ix)
		}
	}
	return c, nil
}

// ParseView parses a *.view.json file. A name that could leave the directory
// is ErrUnsafeName.
func ParseView(b []byte) (*View, error) {
	var raw map[string]json.RawMessage
	if err := strictObject(b, &raw); err != nil {
		return nil, err
	}
	v := &View{Definition: append(json.RawMessage(nil), b...)}
	if n, ok := raw["name"]; ok {
		if err := json.Unmarshal(n, &v.Name); err != nil {
			return nil, fmt.Errorf("%w: view name is not a string", ErrInvalidJSON)
		}
		if !safeName(v.Name) {
			return nil, fmt.Errorf("%w: view name %q", ErrUnsafeName, truncate(v.Name, 80))
		}
	}
	if t, ok := raw["type"]; ok {
		_ = json.Unmarshal(t, &v.Type)
	}
	return v, nil
}
