package clilog

import (
	"fmt"
	"strconv"
	"time"
)

// TimeFormats are the values of --log.time-format (lib/Logger/LogTimeFormat.cpp).
var TimeFormats = []string{
	"timestamp", "timestamp-millis", "timestamp-micros",
	"uptime", "uptime-millis", "uptime-micros",
	"utc-datestring", "utc-datestring-millis", "utc-datestring-micros",
	"local-datestring",
}

// DefaultTimeFormat is --log.time-format's default.
const DefaultTimeFormat = "utc-datestring-micros"

func validTimeFormat(name string) bool {
	for _, f := range TimeFormats {
		if f == name {
			return true
		}
	}
	return false
}

// isStringTime reports whether the format's JSON value is a string (the others are numbers).
func isStringTime(format string) bool {
	switch format {
	case "utc-datestring", "utc-datestring-millis", "utc-datestring-micros", "local-datestring":
		return true
	}
	return false
}

// appendTime writes t in the named format, as LogTimeFormats::writeTime does: whole seconds
// and a zero-padded, truncated fraction; uptime counts from start.
func appendTime(b []byte, format string, t, start time.Time) []byte {
	switch format {
	case "uptime", "uptime-millis", "uptime-micros":
		d := t.Sub(start)
		b = strconv.AppendInt(b, int64(d/time.Second), 10)
		switch format {
		case "uptime-millis":
			b = fmt.Appendf(b, ".%03d", int64(d/time.Millisecond)%1000)
		case "uptime-micros":
			b = fmt.Appendf(b, ".%06d", int64(d/time.Microsecond)%1000000)
		}
	case "timestamp":
		b = strconv.AppendInt(b, t.Unix(), 10)
	case "timestamp-millis":
		b = fmt.Appendf(b, "%d.%03d", t.Unix(), t.Nanosecond()/1e6)
	case "timestamp-micros":
		b = fmt.Appendf(b, "%d.%06d", t.Unix(), t.Nanosecond()/1e3)
	case "utc-datestring":
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	case "utc-datestring-millis":
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	case "local-datestring":
		b = t.Local().AppendFormat(b, "2006-01-02T15:04:05")
	default: // utc-datestring-micros
		b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	}
	return b
}
