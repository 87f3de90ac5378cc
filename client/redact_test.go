package client

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestEndpointCredentialsNeverShown(t *testing.T) {
	const pw = "s3cr3t-P@ss/w:rd"
	for _, in := range []string{
		"http://root:" + pw + "@127.0.0.1:8529",
		"tcp://root:" + pw + "@127.0.0.1:8529/",
		"ssl://" + pw + "@db.example:8530",
	} {
		n, err := NormalizeEndpoint(in)
		if err != nil || strings.Contains(n, "s3cr3t") || strings.Contains(n, "@") {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v: the userinfo must be removed", in, n, err)
		}
	}
	for _, bad := range []string{"htp://root:" + pw + "@h:1", "http://root:" + pw + "@", "root:" + pw + "@h:1", "unix://root:" + pw + "@/tmp/s"} {
		_, err := NormalizeEndpoint(bad)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("NormalizeEndpoint(%q): %v; want an error without the password", bad, err)
		}
	}
	if got := RedactEndpoint("http://root:" + pw + "@h:1"); got != "http://root:xxxxx@h:1" {
		t.Errorf("RedactEndpoint = %q", got)
	}
	if got := RedactText(`Get "https://u:p4ss@h:1/_api/version": dial tcp: refused; also tcp://tok3n@x`); strings.Contains(got, "p4ss") || strings.Contains(got, "tok3n") || !strings.Contains(got, "https://u:xxxxx@h:1/_api/version") {
		t.Errorf("RedactText = %q", got)
	}
	// An unreachable endpoint: the "connect to" error names it without the password.
	o := DefaultOptions()
	o.Endpoints = []string{"http://root:" + pw + "@127.0.0.1:1"}
	o.MaxRetries = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, o)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Connect: %v; want an error naming 127.0.0.1:1 without the password", err)
	}
}
