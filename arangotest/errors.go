package arangotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ArangoError is an error with the server's HTTP status, errorNum and message.
type ArangoError struct {
	Code    int    // HTTP status
	Num     int    // errorNum
	Message string // errorMessage
	// Extra fields merged into the error body (e.g. _id/_key/_rev of a precondition failure).
	Extra map[string]any
}

func (e *ArangoError) Error() string {
	return fmt.Sprintf("arangotest: %d errorNum %d: %s", e.Code, e.Num, e.Message)
}

func newError(code, num int, msg string) *ArangoError {
	return &ArangoError{Code: code, Num: num, Message: msg}
}

// errInvalidBody is parseVPackBody's error for a body that is not JSON (400, error 600), or
// nil when the body is empty or valid JSON.
func errInvalidBody(body []byte) *ArangoError {
	if len(body) == 0 || json.Valid(body) {
		return nil
	}
	var v any
	err := json.Unmarshal(body, &v)
	return newError(400, 600, "VPackError error: "+err.Error())
}

func errDuplicateName(name string) *ArangoError {
	return newError(409, 1207, "duplicate name: "+name)
}

func errDatabaseNotFound() *ArangoError { return newError(404, 1228, "database not found") }

func errDocumentNotFound() *ArangoError { return newError(404, 1202, "document not found") }

func errCollectionNotFound(name string) *ArangoError {
	return newError(404, 1203, "collection or view not found: "+name)
}

func errBadParameter(msg string) *ArangoError { return newError(400, 400, msg) }

func errIndexNotFound() *ArangoError { return newError(404, 1212, "index not found") }

// newUUID returns a random version 4 UUID in lowercase.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
