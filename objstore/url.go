package objstore

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme is the URL scheme of an object-storage location.
const Scheme = "s3://"

// Location is a parsed s3://bucket/prefix URL. Prefix has no leading or
// trailing slash; it is empty for the bucket's root.
type Location struct {
	Bucket string
	Prefix string
}

// String gives the location back as s3://bucket/prefix.
func (l Location) String() string {
	if l.Prefix == "" {
		return Scheme + l.Bucket
	}
	return Scheme + l.Bucket + "/" + l.Prefix
}

// IsURL reports whether s names an object-storage location (has the s3://
// scheme), so that callers can route a --output-directory or
// --input-directory value to this package rather than to the local disk.
func IsURL(s string) bool {
	return len(s) >= len(Scheme) && strings.EqualFold(s[:len(Scheme)], Scheme)
}

// ErrBadURL is wrapped by every error of ParseURL.
var ErrBadURL = errors.New("invalid s3 URL")

// ParseURL parses s3://bucket[/prefix]. It refuses other schemes, an empty or
// malformed bucket name, credentials in the URL, a query or fragment, control
// characters, and "." or ".." or empty path segments (a prefix names the
// same objects on every store, and these mean different things to different
// tools). A trailing slash is allowed and dropped.
func ParseURL(s string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("%w %q: %s", ErrBadURL, redactURL(s), why)
	}
	if !IsURL(s) {
		return bad("the scheme must be s3://")
	}
	rest := s[len(Scheme):]
	for _, r := range rest {
		if r < 0x20 || r == 0x7f {
			return bad("control character in the URL")
		}
	}
	if strings.ContainsAny(rest, "?#") {
		return bad("no query or fragment allowed (? and # are not part of a bucket or prefix)")
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return bad("credentials do not belong in the URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile")
	}
	if err := checkBucketName(bucket); err != nil {
		return bad(err.Error())
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		for seg := range strings.SplitSeq(prefix, "/") {
			switch seg {
			case "":
				return bad("empty path segment (//) in the prefix")
			case ".", "..":
				return bad(fmt.Sprintf("%q path segment in the prefix", seg))
			}
		}
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

// checkBucketName applies the S3 bucket naming rules, leniently enough for
// legacy names (upper case and underscores, which old us-east-1 buckets and
// some S3-compatible stores allow).
func checkBucketName(b string) error {
	if b == "" {
		return errors.New("empty bucket name")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return fmt.Errorf("bucket name %q has the character %q (letters, digits, '-', '.' and '_' only)", b, c)
		}
	}
	first, last := b[0], b[len(b)-1]
	if !isAlnum(first) || !isAlnum(last) {
		return fmt.Errorf("bucket name %q must start and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q has two dots in a row", b)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// redactURL hides anything before an '@' in the bucket part, in case a user
// put a key and secret there.
func redactURL(s string) string {
	if !IsURL(s) {
		return s
	}
	rest := s[len(Scheme):]
	bucket, tail, hasTail := strings.Cut(rest, "/")
	if i := strings.LastIndex(bucket, "@"); i >= 0 {
		bucket = "REDACTED@" + bucket[i+1:]
	}
	if hasTail {
		return s[:len(Scheme)] + bucket + "/" + tail
	}
	return s[:len(Scheme)] + bucket
}

// join joins a prefix and a name with "/", either of which may be empty.
func join(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	default:
		return prefix + "/" + name
	}
}

// checkName validates an object name relative to a Store: a slash-separated
// path without empty, "." or ".." segments and without a leading slash.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty object name")
	}
	if strings.ContainsAny(name, "\\\x00") {
		return fmt.Errorf("object name %q has a backslash or NUL", name)
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("object name %q has an empty path segment", name)
		case ".", "..":
			return fmt.Errorf("object name %q has a %q path segment", name, seg)
		}
	}
	return nil
}
