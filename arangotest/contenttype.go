package arangotest

import (
	"net/http"
	"strings"
)

// reqContentType is the type arangod records for a request body (rest::ContentType).
type reqContentType int

const (
	ctUnset reqContentType = iota
	ctJSON
	ctVPack
	ctDump
)

// requestContentType mirrors HttpRequest::setHeader (lib/Rest/HttpRequest.cpp, 3.12) with
// rest::stringToContentType (lib/Rest/CommonDefines.cpp): the first Content-Type header that
// names JSON ("application/json" prefix), VPack (exactly "application/x-velocypack") or the
// dump type ("application/x-arango-dump" prefix) is recorded; any other type (text/plain
// included) leaves the request's type unset. The comparisons are case-sensitive, as there.
func requestContentType(r *http.Request) reqContentType {
	for _, v := range r.Header.Values("Content-Type") {
		switch {
		case strings.HasPrefix(v, "application/json"):
			return ctJSON
		case v == "application/x-velocypack":
			return ctVPack
		case strings.HasPrefix(v, "application/x-arango-dump"):
			return ctDump
		}
	}
	return ctUnset
}
