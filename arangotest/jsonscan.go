package arangotest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// A small validating JSON scanner. Documents are stored and served as raw bytes; the server only
// needs the top-level members of an object (and, for indexes, a few nested values), so it walks
// the bytes instead of decoding them. This is the ingest hot path (restore-data, import).

var errJSONSyntax = errors.New("invalid JSON")

// jsonSyntaxError is returned for malformed input; its message mimics the server's VPack parser.
type jsonSyntaxError struct {
	off int
	msg string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("VPackError error: %s at position %d", e.msg, e.off)
}

func (e *jsonSyntaxError) Unwrap() error { return errJSONSyntax }

func synErr(off int, msg string) error { return &jsonSyntaxError{off: off, msg: msg} }

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i] (no leading whitespace).
func skipValue(b []byte, i int) (int, error) {
	return skipValueDepth(b, i, 0)
}

func skipValueDepth(b []byte, i int, depth int) (int, error) {
	if i >= len(b) {
		return i, synErr(i, "Unexpected end of input")
	}
	if depth > 200 {
		return i, synErr(i, "Nesting too deep")
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, synErr(i, "Expecting '\"' or '}'")
			}
			end, err := skipString(b, i)
			if err != nil {
				return end, err
			}
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				return i, synErr(i, "Expecting ':'")
			}
			i = skipWS(b, i+1)
			if i, err = skipValueDepth(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, synErr(i, "Expecting ',' or '}'")
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, synErr(i, "Expecting ',' or '}'")
			}
			i = skipWS(b, i+1)
		}
	case c == '[':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValueDepth(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, synErr(i, "Expecting ',' or ']'")
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return i, synErr(i, "Expecting ',' or ']'")
			}
			i = skipWS(b, i+1)
		}
	case c == 't':
		if bytes.HasPrefix(b[i:], []byte("true")) {
			return i + 4, nil
		}
	case c == 'f':
		if bytes.HasPrefix(b[i:], []byte("false")) {
			return i + 5, nil
		}
	case c == 'n':
		if bytes.HasPrefix(b[i:], []byte("null")) {
			return i + 4, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		j := i
		if b[j] == '-' {
			j++
		}
		start := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == start {
			return j, synErr(j, "Incomplete number")
		}
		if j < len(b) && b[j] == '.' {
			j++
			s := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j == s {
				return j, synErr(j, "Incomplete number")
			}
		}
		if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
			j++
			if j < len(b) && (b[j] == '+' || b[j] == '-') {
				j++
			}
			s := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j == s {
				return j, synErr(j, "Incomplete number")
			}
		}
		return j, nil
	}
	return i, synErr(i, "Expecting value")
}

// scanString scans the string starting at b[i]=='"'. It returns the decoded string value and the
// index after the closing quote.
func scanString(b []byte, i int) (string, int, error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		if c == '"' {
			return string(b[i+1 : j]), j + 1, nil
		}
		if c == '\\' {
			// Slow path: find the end, then let encoding/json unescape.
			k := j
			for k < len(b) {
				if b[k] == '\\' {
					k += 2
					continue
				}
				if b[k] == '"' {
					var s string
					if err := json.Unmarshal(b[i:k+1], &s); err != nil {
						return "", k + 1, synErr(j, "Invalid escape sequence")
					}
					return s, k + 1, nil
				}
				if b[k] < 0x20 {
					return "", k, synErr(k, "Control character in string")
				}
				k++
			}
			return "", k, synErr(k, "Unterminated string")
		}
		if c < 0x20 {
			return "", j, synErr(j, "Control character in string")
		}
		j++
	}
	return "", j, synErr(j, "Unterminated string")
}

// scanObject calls fn for every top-level member of the JSON object in b, with the member's
// raw value bytes (a sub-slice of b). It validates the whole object and rejects trailing garbage.
func scanObject(b []byte, fn func(key string, val []byte) error) error {
	return scanObjectWith(b, scanString, fn)
}

// scanObjectWith is scanObject reading member names with scanKey (scanString copies them,
// scanStringView does not). fn may be nil to validate only.
func scanObjectWith(b []byte, scanKey func([]byte, int) (string, int, error), fn func(key string, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return synErr(i+1, "Expecting end of input")
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return synErr(i, "Expecting '\"' or '}'")
		}
		key, end, err := scanKey(b, i)
		if err != nil {
			return err
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return synErr(i, "Expecting ':'")
		}
		i = skipWS(b, i+1)
		vs := i
		if i, err = skipValue(b, i); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(key, b[vs:i]); err != nil {
				return err
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return synErr(i, "Expecting ',' or '}'")
		}
		if b[i] == '}' {
			if skipWS(b, i+1) != len(b) {
				return synErr(i+1, "Expecting end of input")
			}
			return nil
		}
		if b[i] != ',' {
			return synErr(i, "Expecting ',' or '}'")
		}
		i = skipWS(b, i+1)
	}
}

var errNotObject = errors.New("not a JSON object")

// scanArray calls fn for every element of the JSON array in b.
func scanArray(b []byte, fn func(idx int, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errNotArray
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		if skipWS(b, i+1) != len(b) {
			return synErr(i+1, "Expecting end of input")
		}
		return nil
	}
	for n := 0; ; n++ {
		vs := i
		var err error
		if i, err = skipValue(b, i); err != nil {
			return err
		}
		if err := fn(n, b[vs:i]); err != nil {
			return err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return synErr(i, "Expecting ',' or ']'")
		}
		if b[i] == ']' {
			if skipWS(b, i+1) != len(b) {
				return synErr(i+1, "Expecting end of input")
			}
			return nil
		}
		if b[i] != ',' {
			return synErr(i, "Expecting ',' or ']'")
		}
		i = skipWS(b, i+1)
	}
}

var errNotArray = errors.New("not a JSON array")

// rawKind classifies a raw JSON value by its first byte.
func rawKind(v []byte) byte {
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case '"':
		return 's'
	case '{':
		return 'o'
	case '[':
		return 'a'
	case 't', 'f':
		return 'b'
	case 'n':
		return 'n'
	default:
		return 'd'
	}
}

// rawString decodes a raw JSON string value; ok is false if v is not a string.
func rawString(v []byte) (string, bool) {
	if rawKind(v) != 's' {
		return "", false
	}
	s, _, err := scanString(v, 0)
	return s, err == nil
}

// member is one member of an ordered JSON object.
type member struct {
	key string
	val []byte
}

// orderedObject decodes the top level of a JSON object keeping member order.
func orderedObject(b []byte) ([]member, error) {
	var out []member
	err := scanObject(b, func(k string, v []byte) error {
		for i := range out {
			if out[i].key == k { // last one wins, like the server
				out[i].val = v
				return nil
			}
		}
		out = append(out, member{k, v})
		return nil
	})
	return out, err
}

func encodeObject(ms []member) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, m.key)
		buf.WriteByte(':')
		buf.Write(m.val)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// writeJSONString writes s as a JSON string literal.
func writeJSONString(buf *bytes.Buffer, s string) {
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	b, _ := json.Marshal(s)
	// encoding/json escapes <, >, & as \u003c etc.; that is still valid JSON.
	buf.Write(b)
}

func jsonString(s string) []byte {
	var buf bytes.Buffer
	writeJSONString(&buf, s)
	return buf.Bytes()
}

// canonicalValue returns a canonical string for a raw JSON value, so that equal values (1 and
// 1.0, differently ordered objects) compare equal. Used for index keys.
func canonicalValue(v []byte) string {
	switch rawKind(v) {
	case 's':
		s, _ := rawString(v)
		return "s" + s
	case 'n', 0:
		return "n"
	case 'b':
		return "b" + string(v)
	case 'd':
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) {
			return "d" + string(v)
		}
		return "d" + strconv.FormatFloat(f, 'g', -1, 64)
	default:
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return "x" + string(v)
		}
		return "j" + canonicalAny(x)
	}
}

func canonicalAny(x any) string {
	switch t := x.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var buf bytes.Buffer
		buf.WriteByte('{')
		for _, k := range keys {
			writeJSONString(&buf, k)
			buf.WriteByte(':')
			buf.WriteString(canonicalAny(t[k]))
			buf.WriteByte(',')
		}
		buf.WriteByte('}')
		return buf.String()
	case []any:
		var buf bytes.Buffer
		buf.WriteByte('[')
		for _, e := range t {
			buf.WriteString(canonicalAny(e))
			buf.WriteByte(',')
		}
		buf.WriteByte(']')
		return buf.String()
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// lookupPath returns the raw value at a dotted attribute path inside a raw object, or nil.
func lookupPath(doc []byte, path []string) []byte {
	cur := doc
	for _, p := range path {
		if rawKind(cur) != 'o' {
			return nil
		}
		var found []byte
		_ = scanObject(cur, func(k string, v []byte) error {
			if k == p {
				found = v
			}
			return nil
		})
		if found == nil {
			return nil
		}
		cur = found
	}
	return cur
}

// scanStringView is scanString without a copy when the string has no escapes: the result
// then points into b and is only valid while b is unchanged.
func scanStringView(b []byte, i int) (string, int, error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		if c == '"' {
			if j == i+1 {
				return "", j + 1, nil
			}
			return unsafe.String(&b[i+1], j-i-1), j + 1, nil
		}
		if c == '\\' || c < 0x20 {
			return scanString(b, i)
		}
		j++
	}
	return "", j, synErr(j, "Unterminated string")
}

// rawStringView is rawString without a copy (see scanStringView).
func rawStringView(v []byte) (string, bool) {
	if rawKind(v) != 's' {
		return "", false
	}
	s, _, err := scanStringView(v, 0)
	return s, err == nil
}

// scanObjectView is scanObject with member names as views into b (see scanStringView).
func scanObjectView(b []byte, fn func(key string, val []byte) error) error {
	return scanObjectWith(b, scanStringView, fn)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			var b bytes.Buffer
			writeJSONString(&b, s)
			return append(buf, b.Bytes()...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// skipString returns the index after the string starting at b[i]=='"', validating escapes
// and rejecting control characters, without decoding it.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for j < len(b) {
		// Skip eight plain bytes at a time up to the next one that needs a look.
		for j+8 <= len(b) {
			if m := swarSpecial(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(b) {
				return j, synErr(j, "Unterminated string")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+5 >= len(b) {
					return j, synErr(j, "Invalid escape sequence")
				}
				for k := j + 2; k < j+6; k++ {
					h := b[k]
					if !((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')) {
						return k, synErr(k, "Invalid escape sequence")
					}
				}
				j += 6
			default:
				return j, synErr(j, "Invalid escape sequence")
			}
		case c < 0x20:
			return j, synErr(j, "Control character in string")
		default:
			j++
		}
	}
	return j, synErr(j, "Unterminated string")
}

// swarSpecial returns a mask whose lowest set bit is the high bit of the first byte of x (in
// little-endian order) that is a quote, a backslash or a control character; 0 if there is
// none. (Bits above the first match may be spurious: only the lowest one is meaningful.)
func swarSpecial(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	bs := x ^ (lo * '\\')
	return ((q-lo)&^q | (bs-lo)&^bs | (x-lo*0x20)&^x) & hi
}
