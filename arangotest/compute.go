package arangotest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Computed values and schema validation. Both read the collection properties without
// locking: callers hold the collection lock.

func (c *Collection) hasComputed() bool {
	v, ok := c.props["computedValues"]
	return ok && rawKind(v) == 'a' && string(v) != "[]"
}

func (c *Collection) hasSchema() bool {
	v, ok := c.props["schema"]
	return ok && rawKind(v) == 'o' && string(v) != "{}"
}

type computedValue struct {
	Name       string   `json:"name"`
	Expression string   `json:"expression"`
	Overwrite  bool     `json:"overwrite"`
	ComputeOn  []string `json:"computeOn"`
	KeepNull   *bool    `json:"keepNull"`
}

// applyComputed applies the collection's computed values for op (insert/update/replace).
func (s *Server) applyComputed(c *Collection, user []member, op string) ([]member, error) {
	if !c.hasComputed() {
		return user, nil
	}
	var cvs []computedValue
	if err := json.Unmarshal(c.props["computedValues"], &cvs); err != nil {
		return user, nil
	}
	for _, cv := range cvs {
		on := cv.ComputeOn
		if len(on) == 0 {
			on = []string{"insert", "update", "replace"}
		}
		applies := false
		for _, x := range on {
			if x == op {
				applies = true
			}
		}
		if !applies {
			continue
		}
		idx := -1
		for i, m := range user {
			if m.key == cv.Name {
				idx = i
			}
		}
		if idx >= 0 && !cv.Overwrite {
			continue
		}
		doc := encodeObject(user)
		val, err := evalComputed(cv.Expression, doc)
		if err != nil {
			return nil, newError(400, 1561, "computed value '"+cv.Name+"': "+err.Error())
		}
		if string(val) == "null" && cv.KeepNull != nil && !*cv.KeepNull {
			if idx >= 0 {
				user = append(user[:idx:idx], user[idx+1:]...)
			}
			continue
		}
		if idx >= 0 {
			user = append([]member(nil), user...)
			user[idx].val = val
		} else {
			user = append(append([]member(nil), user...), member{cv.Name, val})
		}
	}
	return user, nil
}

// evalComputed evaluates the tiny expression language of computed values:
// RETURN <expr> with expr = literal | @doc.attr[.attr] | FUNC(args) for DATE_NOW, DATE_ISO8601,
// CONCAT, CONCAT_SEPARATOR, TO_STRING, UPPER, LOWER, LENGTH.
func evalComputed(expr string, doc []byte) ([]byte, error) {
	e := strings.TrimSpace(expr)
	if !strings.HasPrefix(strings.ToUpper(e), "RETURN ") {
		return nil, errBadParameter("expression must start with RETURN")
	}
	v, rest, err := parseCompExpr(strings.TrimSpace(e[7:]), doc)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, errBadParameter("unsupported expression: " + expr)
	}
	return json.Marshal(v)
}

func parseCompExpr(s string, doc []byte) (any, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, s, errBadParameter("empty expression")
	}
	switch {
	case s[0] == '"' || s[0] == '\'':
		q := s[0]
		i := 1
		var sb strings.Builder
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			sb.WriteByte(s[i])
			i++
		}
		if i >= len(s) {
			return nil, s, errBadParameter("unterminated string")
		}
		return sb.String(), s[i+1:], nil
	case s[0] == '-' || (s[0] >= '0' && s[0] <= '9'):
		i := 1
		for i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9') || s[i] == 'e' || s[i] == 'E') {
			i++
		}
		f, err := strconv.ParseFloat(s[:i], 64)
		return f, s[i:], err
	case strings.HasPrefix(s, "@doc"):
		i := 4
		for i < len(s) && (s[i] == '.' || s[i] == '_' || isAlnum(s[i])) {
			i++
		}
		path := strings.Split(strings.TrimPrefix(s[4:i], "."), ".")
		raw := doc
		if s[4:i] != "" {
			raw = lookupPath(doc, path)
		}
		var v any
		if raw != nil {
			_ = json.Unmarshal(raw, &v)
		}
		return v, s[i:], nil
	}
	i := 0
	for i < len(s) && (isAlnum(s[i]) || s[i] == '_') {
		i++
	}
	name := strings.ToUpper(s[:i])
	rest := strings.TrimSpace(s[i:])
	switch name {
	case "TRUE":
		return true, rest, nil
	case "FALSE":
		return false, rest, nil
	case "NULL":
		return nil, rest, nil
	}
	if !strings.HasPrefix(rest, "(") {
		return nil, s, errBadParameter("unsupported expression near '" + s + "'")
	}
	rest = rest[1:]
	var args []any
	for {
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ")") {
			rest = rest[1:]
			break
		}
		v, r, err := parseCompExpr(rest, doc)
		if err != nil {
			return nil, s, err
		}
		args = append(args, v)
		r = strings.TrimSpace(r)
		if strings.HasPrefix(r, ",") {
			r = r[1:]
		}
		rest = r
	}
	v, err := callFunc(name, args)
	return v, rest, err
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func toStr(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func callFunc(name string, args []any) (any, error) {
	switch name {
	case "DATE_NOW":
		return float64(time.Now().UnixMilli()), nil
	case "DATE_ISO8601":
		if len(args) == 1 {
			if f, ok := args[0].(float64); ok {
				return time.UnixMilli(int64(f)).UTC().Format("2006-01-02T15:04:05.000Z"), nil
			}
		}
		return time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), nil
	case "CONCAT":
		var sb strings.Builder
		for _, a := range args {
			sb.WriteString(toStr(a))
		}
		return sb.String(), nil
	case "CONCAT_SEPARATOR":
		if len(args) == 0 {
			return "", nil
		}
		parts := []string{}
		for _, a := range args[1:] {
			if a != nil {
				parts = append(parts, toStr(a))
			}
		}
		return strings.Join(parts, toStr(args[0])), nil
	case "TO_STRING":
		if len(args) == 1 {
			return toStr(args[0]), nil
		}
	case "UPPER":
		if len(args) == 1 {
			return strings.ToUpper(toStr(args[0])), nil
		}
	case "LOWER":
		if len(args) == 1 {
			return strings.ToLower(toStr(args[0])), nil
		}
	case "LENGTH":
		if len(args) == 1 {
			switch t := args[0].(type) {
			case string:
				return float64(len([]rune(t))), nil
			case []any:
				return float64(len(t)), nil
			case map[string]any:
				return float64(len(t)), nil
			}
			return 0.0, nil
		}
	}
	return nil, errBadParameter("unsupported function " + name)
}

// --- schema -----------------------------------------------------------------------------

type schemaDef struct {
	Rule    map[string]any `json:"rule"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
}

// validateSchema checks the new document against the collection schema (lock held).
func (s *Server) validateSchema(c *Collection, user []member, op string, old *Doc) error {
	if !c.hasSchema() {
		return nil
	}
	var sd schemaDef
	if err := json.Unmarshal(c.props["schema"], &sd); err != nil || sd.Rule == nil {
		return nil
	}
	level := sd.Level
	if level == "" {
		level = "strict"
	}
	switch level {
	case "none":
		return nil
	case "new":
		if op != "insert" {
			return nil
		}
	case "moderate":
		if op != "insert" && old != nil {
			var ov any
			_ = json.Unmarshal(old.Raw, &ov)
			if !schemaValid(sd.Rule, ov) {
				return nil
			}
		}
	}
	var v any
	if err := json.Unmarshal(encodeObject(user), &v); err != nil {
		return nil
	}
	if !schemaValid(sd.Rule, v) {
		msg := sd.Message
		if msg == "" {
			msg = "Schema violation"
		}
		return newError(400, 1620, msg)
	}
	return nil
}

// schemaValid implements the common subset of JSON Schema.
func schemaValid(rule map[string]any, v any) bool {
	if t, ok := rule["type"]; ok {
		types := []string{}
		switch tt := t.(type) {
		case string:
			types = append(types, tt)
		case []any:
			for _, x := range tt {
				if s, ok := x.(string); ok {
					types = append(types, s)
				}
			}
		}
		okType := false
		for _, ty := range types {
			if jsonTypeIs(ty, v) {
				okType = true
			}
		}
		if !okType {
			return false
		}
	}
	if e, ok := rule["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if canonicalAny(x) == canonicalAny(v) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	switch t := v.(type) {
	case map[string]any:
		if req, ok := rule["required"].([]any); ok {
			for _, r := range req {
				if _, ok := t[r.(string)]; !ok {
					return false
				}
			}
		}
		props, _ := rule["properties"].(map[string]any)
		for k, pv := range props {
			if sub, ok := pv.(map[string]any); ok {
				if x, ok := t[k]; ok && !schemaValid(sub, x) {
					return false
				}
			}
		}
		if ap, ok := rule["additionalProperties"].(bool); ok && !ap {
			for k := range t {
				if strings.HasPrefix(k, "_") {
					continue
				}
				if _, ok := props[k]; !ok {
					return false
				}
			}
		}
	case []any:
		if items, ok := rule["items"].(map[string]any); ok {
			for _, x := range t {
				if !schemaValid(items, x) {
					return false
				}
			}
		}
		if n, ok := rule["minItems"].(float64); ok && float64(len(t)) < n {
			return false
		}
		if n, ok := rule["maxItems"].(float64); ok && float64(len(t)) > n {
			return false
		}
	case string:
		if n, ok := rule["minLength"].(float64); ok && float64(len([]rune(t))) < n {
			return false
		}
		if n, ok := rule["maxLength"].(float64); ok && float64(len([]rune(t))) > n {
			return false
		}
	case float64:
		if n, ok := rule["minimum"].(float64); ok && t < n {
			return false
		}
		if n, ok := rule["maximum"].(float64); ok && t > n {
			return false
		}
	}
	return true
}

func jsonTypeIs(ty string, v any) bool {
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return true
}
