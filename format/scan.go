package format

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// This file holds the line classifier: a single pass over the line that
// validates JSON syntax (the same language encoding/json.Valid accepts) and
// notes where the top-level members that matter for classification are. No
// document is decoded.

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

// syntaxError is a JSON syntax problem at a byte offset of the line.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.off+1) }

// span is a [start,end) range of the line; start < 0 means absent.
type span struct{ start, end int }

func (s span) ok() bool { return s.start >= 0 }

// topLevel records the top-level members of an object line.
type topLevel struct {
	typ, data, key, docKey span
	// other: a member other than type/data/key/rev exists, so the line
	// cannot be an envelope.
	other bool
}

// strTable marks bytes that end the fast path inside a string.
var strTable = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	return
}()

type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(msg string) error { return &syntaxError{s.i, msg} }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str scans a string starting at '"'.
func (s *scanner) str() error {
	b := s.b
	i := s.i + 1
	for {
		// Eight bytes at a time while none of them is '"', '\\' or a
		// control character.
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			if hasZeroByte(v^(lo8*'"'))|hasZeroByte(v^(lo8*'\\'))|hasLess(v, 0x20) != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && !strTable[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return s.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return nil
		case c == '\\':
			i++
			if i >= len(b) {
				s.i = i
				return s.fail("unterminated string")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(b) {
					s.i = i
					return s.fail("invalid \\u escape")
				}
				for k := 1; k <= 4; k++ {
					if !isHex(b[i+k]) {
						s.i = i + k
						return s.fail("invalid \\u escape")
					}
				}
				i += 5
			default:
				s.i = i
				return s.fail("invalid escape in string")
			}
		default:
			s.i = i
			return s.fail("control character in string")
		}
	}
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// hasZeroByte is non-zero when some byte of v is 0.
func hasZeroByte(v uint64) uint64 { return (v - lo8) &^ v & hi8 }

// hasLess is non-zero when some byte of v is < n (n <= 128).
func hasLess(v uint64, n uint64) uint64 { return (v - lo8*n) &^ v & hi8 }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) num() error {
	b := s.b
	i := s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		s.i = i
		return s.fail("invalid number")
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	} else {
		s.i = i
		return s.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return s.fail("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return s.fail("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	s.i = i
	return nil
}

func (s *scanner) lit(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return nil
}

// value scans one value (whitespace already skipped).
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of line")
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.str()
	case '{':
		return s.object(depth+1, nil)
	case '[':
		return s.array(depth + 1)
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || isDigit(c) {
			return s.num()
		}
		return s.fail(fmt.Sprintf("invalid character %q", c))
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of line in array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']' in array")
		}
	}
}

// object scans an object; when top is not nil the members are recorded.
func (s *scanner) object(depth int, top *topLevel) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected string key in object")
		}
		ks := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.b[ks+1 : s.i-1]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':' after object key")
		}
		s.i++
		s.ws()
		vs := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if top != nil {
			v := span{vs, s.i}
			switch string(key) {
			case "type":
				top.typ = v
			case "data":
				top.data = v
			case "key":
				top.key = v
			case "rev":
			case "_key":
				top.docKey = v
				top.other = true
			default:
				top.other = true
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of line in object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}' in object")
		}
	}
}

// validJSON reports whether b is one valid JSON value (like json.Valid).
func validJSON(b []byte) error {
	s := scanner{b: b}
	s.ws()
	if err := s.value(0); err != nil {
		return err
	}
	s.ws()
	if s.i != len(b) {
		return s.fail("data after JSON value")
	}
	return nil
}

var errNotObject = errors.New("line is not a JSON object")

// Classify validates one line (without newline) as JSON and classifies it.
// The returned Line has Kind, Raw, Doc and Key set. Errors wrap
// ErrInvalidJSON; the caller adds file and line.
//
// A line is an envelope when it is an object whose members are only type,
// data, key and rev, type is 2300, 2301 or 2302, and (for 2300/2301) data is
// an object. Everything else that is an object is a plain document (plain
// documents always carry _key, so no real document is taken for an envelope).
func Classify(line []byte) (Line, error) {
	var top = topLevel{typ: span{-1, -1}, data: span{-1, -1}, key: span{-1, -1}, docKey: span{-1, -1}}
	s := scanner{b: line}
	s.ws()
	if s.i >= len(line) || line[s.i] != '{' {
		if err := validJSON(line); err != nil {
			return Line{}, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		return Line{}, fmt.Errorf("%w: %v", ErrInvalidJSON, errNotObject)
	}
	if err := s.object(1, &top); err != nil {
		return Line{}, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	s.ws()
	if s.i != len(line) {
		return Line{}, fmt.Errorf("%w: %v", ErrInvalidJSON, s.fail("data after JSON value"))
	}
	l := Line{Kind: KindDocument, Raw: line, Doc: line}
	if top.other || !top.typ.ok() {
		return l, nil
	}
	typ := line[top.typ.start:top.typ.end]
	var marker int
	switch string(typ) {
	case "2300":
		marker = MarkerDocument
	case "2301":
		marker = MarkerEdge
	case "2302":
		marker = MarkerRemove
	default:
		return l, nil
	}
	var data []byte
	if top.data.ok() {
		data = line[top.data.start:top.data.end]
	}
	if marker != MarkerRemove && (len(data) == 0 || data[0] != '{') {
		return l, nil
	}
	if top.key.ok() {
		if k, ok := jsonString(line[top.key.start:top.key.end]); ok {
			l.Key = k
		}
	}
	if marker == MarkerRemove {
		l.Kind = KindRemove
		if len(data) > 0 && data[0] == '{' {
			l.Doc = data
		} else {
			l.Doc = nil
		}
		if l.Key == "" && l.Doc != nil {
			var d struct {
				Key string `json:"_key"`
			}
			if json.Unmarshal(l.Doc, &d) == nil {
				l.Key = d.Key
			}
		}
		return l, nil
	}
	l.Kind = KindInsert
	l.Doc = data
	return l, nil
}

// jsonString decodes a JSON string token (fast path without escapes). A
// number token (some old dumps) is returned as its text.
func jsonString(tok []byte) (string, bool) {
	if len(tok) >= 2 && tok[0] == '"' {
		inner := tok[1 : len(tok)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner), true
		}
		var s string
		if json.Unmarshal(tok, &s) == nil {
			return s, true
		}
		return "", false
	}
	if len(tok) > 0 && (tok[0] == '-' || isDigit(tok[0])) {
		if _, err := strconv.ParseFloat(string(tok), 64); err == nil {
			return string(tok), true
		}
	}
	return "", false
}
