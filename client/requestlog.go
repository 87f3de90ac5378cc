package client

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// RequestsTopic is the "topic" attribute of the request and retry records (Options.Logger),
// the log topic of `--log.level requests=debug`.
const RequestsTopic = "requests"

// loggingTransport logs every request of a connection (the driver's and the raw bulk ones
// go through it alike) at debug level: method, URL, status, time to the response header,
// and the error of a request that got no response. It never logs a header, so no
// Authorization, and URLs go through RedactText (the tools' own URLs carry no userinfo).
type loggingTransport struct {
	next    http.RoundTripper
	log     *slog.Logger
	sockets map[string]string // UnixSocketHost -> path, to show the socket instead
}

func (t *loggingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.next.RoundTrip(r)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	attrs := []slog.Attr{
		slog.String("topic", RequestsTopic),
		slog.String("method", r.Method),
		slog.String("url", t.shownURL(r)),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	attrs = append(attrs, slog.Duration("duration", time.Since(start)))
	if err != nil {
		attrs = append(attrs, slog.String("error", RedactText(err.Error())))
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "request", attrs...)
	return resp, err
}

// shownURL is the request's URL for the log: without userinfo, and a Unix socket's host as
// unix://PATH (then the path and query after a ':' , as the socket path has its own slashes).
func (t *loggingTransport) shownURL(r *http.Request) string {
	u := *r.URL
	u.User = nil
	if path, ok := t.sockets[u.Hostname()]; ok {
		return RedactText("unix://" + path + ":" + u.RequestURI())
	}
	return RedactText(u.String())
}

// retryLogger is onRetry, also logging each retry on log at info level (topic "requests");
// either may be nil.
func retryLogger(onRetry func(attempt int, wait time.Duration, err error), log *slog.Logger) func(attempt int, wait time.Duration, err error) {
	if log == nil {
		return onRetry
	}
	return func(attempt int, wait time.Duration, err error) {
		log.LogAttrs(context.Background(), slog.LevelInfo, "retry",
			slog.String("topic", RequestsTopic),
			slog.Int("attempt", attempt),
			slog.Duration("wait", wait),
			slog.String("error", RedactText(strings.TrimSpace(err.Error()))))
		if onRetry != nil {
			onRetry(attempt, wait, err)
		}
	}
}
