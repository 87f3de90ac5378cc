package objstore

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Defaults of Config. S3 refuses parts below 5 MiB (but the last) and more
// than 10,000 parts: at 16 MiB a single object can be 156 GiB.
const (
	DefaultPartSize    = 16 << 20
	MinPartSize        = 5 << 20
	MaxPartSize        = 5 << 30
	MaxParts           = 10000
	DefaultConcurrency = 4
	DefaultRetries     = 5
	DefaultRetryDelay  = 250 * time.Millisecond
	DefaultIdleTimeout = 2 * time.Minute
	maxRetryDelay      = 8 * time.Second
)

// Addressing says how the bucket appears in request URLs.
type Addressing int

const (
	// AddressingAuto uses virtual-hosted style (bucket.host) on AWS and
	// Google, path style (host/bucket) on every other endpoint.
	AddressingAuto Addressing = iota
	// AddressingPath always puts the bucket in the path (most self-hosted stores).
	AddressingPath
	// AddressingVirtual always puts the bucket in the host name.
	AddressingVirtual
)

// Config says how to reach the store. The zero value reaches AWS with
// credentials and region from the standard AWS environment.
type Config struct {
	// Endpoint of a non-AWS store: http://host:port or https://host[:port]
	// (a bare host means https). Empty: AWS_ENDPOINT_URL_S3, then
	// AWS_ENDPOINT_URL, then AWS (s3.amazonaws.com).
	Endpoint string
	// Region. Empty: AWS_REGION, AWS_DEFAULT_REGION, the profile's region in
	// the AWS config file; then, on AWS, the bucket's own location, and
	// us-east-1 elsewhere.
	Region string
	// Static credentials. Normally empty: then AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; then the profile
	// (AWS_PROFILE, else "default") in AWS_SHARED_CREDENTIALS_FILE
	// (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config), including its
	// credential_process and SSO settings; then a web identity token
	// (AWS_WEB_IDENTITY_TOKEN_FILE) or container credentials
	// (AWS_CONTAINER_CREDENTIALS_*) when those are set.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Profile overrides AWS_PROFILE.
	Profile string
	// InstanceMetadata also asks the EC2 instance metadata service for a
	// role's credentials when nothing else gave any. Off by default: off EC2
	// the probe of that link-local address only costs seconds.
	InstanceMetadata bool

	// PartSize of multipart uploads, in bytes (default 16 MiB, at least 5 MiB).
	PartSize int64
	// Concurrency is the number of parts of one upload in flight at once
	// (default 4). An Upload holds at most Concurrency+1 parts in memory.
	Concurrency int
	// Retries is the number of attempts per request or part (default 5).
	Retries int
	// RetryDelay is the wait before the second attempt, doubled for each
	// further one up to 8 s (default 250 ms).
	RetryDelay time.Duration
	// IdleTimeout ends (and retries) a request whose body moves no byte for
	// this long (default 2 min).
	IdleTimeout time.Duration
	// Addressing of buckets (default AddressingAuto).
	Addressing Addressing
	// InsecureSkipVerify accepts any TLS certificate (test stores only).
	InsecureSkipVerify bool
	// CACert is a PEM file of extra certificate authorities to trust.
	CACert string
	// Transport, if set, replaces the HTTP transport (the TLS settings above
	// are then ignored). For tests and instrumentation.
	Transport http.RoundTripper
}

func (c Config) withDefaults() (Config, error) {
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < MinPartSize || c.PartSize > MaxPartSize {
		return c, fmt.Errorf("s3 part size %d: must be between %d (5 MiB) and %d (5 GiB) bytes", c.PartSize, MinPartSize, int64(MaxPartSize))
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Retries <= 0 {
		c.Retries = DefaultRetries
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c, nil
}

// endpoint resolves the endpoint: host[:port] for minio-go, whether TLS is
// used, and the URL to name in messages.
func (c Config) endpoint() (host string, secure bool, shown string, err error) {
	e := c.Endpoint
	src := "--s3.endpoint"
	if e == "" {
		e, src = os.Getenv("AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3"
	}
	if e == "" {
		e, src = os.Getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
	}
	if e == "" {
		return "s3.amazonaws.com", true, "https://s3.amazonaws.com", nil
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, perr := url.Parse(e)
	if perr != nil {
		return "", false, "", fmt.Errorf("s3 endpoint (from %s) is not a URL: give scheme://host[:port]", src)
	}
	switch u.Scheme {
	case "http":
	case "https":
		secure = true
	default:
		return "", false, "", fmt.Errorf("s3 endpoint %q (from %s): the scheme must be http:// or https://", u.Redacted(), src)
	}
	if u.User != nil {
		return "", false, "", fmt.Errorf("s3 endpoint %q (from %s): no credentials in the endpoint; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", u.Redacted(), src)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false, "", fmt.Errorf("s3 endpoint %q (from %s): give only scheme://host[:port]", u.Redacted(), src)
	}
	return u.Host, secure, u.Scheme + "://" + u.Host, nil
}

// region resolves the region from the configuration and environment; ""
// means let the client find it.
func (c Config) region() string {
	if c.Region != "" {
		return c.Region
	}
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(v); r != "" {
			return r
		}
	}
	return profileRegion(c.profile())
}

func (c Config) profile() string {
	if c.Profile != "" {
		return c.Profile
	}
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// profileRegion reads "region" of a profile from the AWS config file
// ([default] or [profile NAME]); "" if there is none.
func profileRegion(profile string) string {
	path := os.Getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, ".aws", "config")
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	want := "profile " + profile
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && strings.HasSuffix(line, "]") {
			name := strings.Join(strings.Fields(line[1:len(line)-1]), " ")
			in = name == want || (profile == "default" && name == "default")
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "region" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// credentialSource is where the credentials were found, for messages: a
// name, never a secret.
type credentialSource struct {
	creds *credentials.Credentials
	from  string // "Config", "AWS_ACCESS_KEY_ID", "profile \"x\" (~/.aws/...)", "none (anonymous)"
}

// credentialsChecked lists, for error messages, what Open looks at.
const credentialsChecked = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE in AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config)"

// resolveCredentials walks the chain in order and keeps the first provider
// that gives a key, so that an error can say which one was used.
func (c Config) resolveCredentials(httpClient *http.Client) credentialSource {
	if c.AccessKeyID != "" || c.SecretAccessKey != "" {
		return credentialSource{credentials.NewStaticV4(c.AccessKeyID, c.SecretAccessKey, c.SessionToken), "the configured access key"}
	}
	type cand struct {
		p    credentials.Provider
		from string
	}
	cands := []cand{
		{&credentials.EnvAWS{}, "AWS_ACCESS_KEY_ID"},
		{&credentials.FileAWSCredentials{Profile: c.profile()}, fmt.Sprintf("profile %q of the AWS credentials/config files", c.profile())},
	}
	if os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" || os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" ||
		os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" || c.InstanceMetadata {
		cands = append(cands, cand{&credentials.IAM{Client: httpClient}, "the instance or container role"})
	}
	cc := &credentials.CredContext{Client: httpClient}
	for _, cd := range cands {
		v, err := cd.p.RetrieveWithCredContext(cc)
		if err == nil && v.AccessKeyID != "" {
			return credentialSource{credentials.New(cd.p), cd.from}
		}
	}
	return credentialSource{credentials.NewStatic("", "", "", credentials.SignatureAnonymous), "none found (anonymous requests)"}
}

// transport builds the HTTP transport: minio-go's tuned defaults, with a
// short dial timeout so that an unreachable endpoint fails fast, and the TLS
// settings of the Config.
func (c Config) transport(secure bool) (http.RoundTripper, error) {
	if c.Transport != nil {
		return c.Transport, nil
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	// Parts are large and already compressed: let the transport not ask for gzip.
	tr.DisableCompression = true
	if secure && (c.InsecureSkipVerify || c.CACert != "") {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.InsecureSkipVerify = c.InsecureSkipVerify
		if c.CACert != "" {
			pem, err := os.ReadFile(c.CACert)
			if err != nil {
				return nil, fmt.Errorf("s3 CA certificate: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("s3 CA certificate %s: no PEM certificate in it", c.CACert)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	return tr, nil
}
